// Where the registry turns storage's typed failures into API errors (metav1 Status).
import { ApiError, apiErrors, type ResourceRef } from '../api/meta/errors.js';
import { StorageError, TooLargeRevisionError } from '../storage/interface.js';

/** The one boundary where storage failures become API errors. */
export function fromStorageError(error: unknown, ref: ResourceRef, name: string): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof TooLargeRevisionError) return apiErrors.tooLargeResourceVersion(error.wanted, error.current);
  if (!(error instanceof StorageError)) return apiErrors.internal(error instanceof Error ? error.message : String(error));
  switch (error.code) {
    case 'NotFound':
      return apiErrors.notFound(ref, name);
    case 'AlreadyExists':
      return apiErrors.alreadyExists(ref, name);
    case 'Conflict':
      return apiErrors.modified(ref, name);
    case 'Gone':
      return apiErrors.resourceExpired(error.message);
    case 'FutureRevision':
      return apiErrors.timeout(error.message);
    case 'Unreachable':
      return apiErrors.serviceUnavailable(`storage is unreachable: ${error.message}`);
    case 'Timeout':
      return apiErrors.timeout(`request did not complete within the storage deadline: ${error.message}`);
    case 'Internal':
      return apiErrors.internal(error.message);
  }
}
