// The resources this server serves: the one list where a resource is named. The registry's stores, the routes,
// discovery, OpenAPI, the generated artifacts in scripts/ and the tests' CRDs all follow it. A new resource is a
// schema, a folder beside these and a line here, then `npm run generate`.
import { datasets } from './datasets/index.js';
import { jobs } from './jobs/index.js';
import { notebooks } from './notebooks/index.js';
import { servedResources } from '../server/connect.js';

export const definitions = [notebooks, jobs, datasets];

/** The strategies and connect handlers of `definitions`, checked: an incomplete definition throws here. */
export const resources = servedResources(definitions);
