// The resources the generators in scripts/ describe, and what each needs to know of them. Kept to one function so
// the generators follow wherever the list of resources lives.
import { resources } from '../src/resources/index.js';
import type { ConnectSubresource, ResourceInfo } from '../src/registry/strategy.js';

export interface GeneratedResource extends Pick<ResourceInfo, 'group' | 'version' | 'kind' | 'listKind' | 'resource' | 'namespaced' | 'subresources'> {
  connect: readonly Pick<ConnectSubresource, 'name' | 'verbs'>[];
  /** The JSON Schema component of the kind (see src/api/v1alpha1/schemas.ts). */
  schemaName: string;
}

export function listResources(): readonly GeneratedResource[] {
  return resources.strategies.map(({ info, schemaName }) => ({ ...info, connect: info.connect ?? [], schemaName }));
}
