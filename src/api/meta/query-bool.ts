// How kube-apiserver reads a boolean query parameter (apimachinery's string-to-bool conversion, which both the
// request-info parse and the options decoder use): "0", "f" and "false" in any case are false, anything else —
// "yes", "", "1" — is true. Never an error: `watch=yes` opens a watch there, so it does here.

export function queryBoolean(value: string): boolean {
  const lower = value.toLowerCase();
  return !(value === '0' || lower === 'f' || lower === 'false');
}
