// One admission plugin (a webhook set, the policies, quota) as the chain runs it: a mutating plugin may change the
// object, a validating one only refuses or warns. Plugins refuse by throwing ApiError, worded as kube words it.
import type { AdmissionAttributes, AdmissionOutcome, MutationOutcome } from '../registry/admission.js';

export interface AdmissionPlugin {
  /** kube's plugin name: MutatingAdmissionWebhook, ValidatingAdmissionPolicy, ValidatingAdmissionWebhook, ResourceQuota. */
  readonly name: string;
  /** Whether the plugin has anything to say about this request; false skips it without cost. */
  handles(attributes: AdmissionAttributes): boolean;
  mutate?(attributes: AdmissionAttributes, signal?: AbortSignal): Promise<MutationOutcome>;
  validate?(attributes: AdmissionAttributes, signal?: AbortSignal): Promise<AdmissionOutcome>;
}
