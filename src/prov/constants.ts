/** Limits of src/prov, named with the unit last. */

/** Default depth of a lineage query, in entity-to-entity steps. */
export const lineageDepthDefault = 10
/** Deepest lineage query allowed. */
export const lineageDepthMax = 64
/** Default number of nodes a lineage or who-touched query returns. */
export const lineageResultsDefault = 1000
/** Most nodes a lineage or who-touched query returns. */
export const lineageResultsMax = 10_000
/** Most index edges one query may read in total (bounds the work of a query with wide fan-out). */
export const lineageEdgesScannedMax = 100_000
/** Longest qualified name, in characters. */
export const qualifiedNameCharsMax = 512
