// json-merge-patch ships no type declarations; these cover the one function used.
declare module 'json-merge-patch' {
  const mergePatch: { apply(target: unknown, patch: unknown): unknown };
  export default mergePatch;
}
