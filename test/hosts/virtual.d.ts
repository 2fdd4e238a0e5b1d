// The module test/hosts/build.ts generates for the corpus bundle.
declare module "virtual:vector-files" {
  export const VECTOR_FILES: Array<[string, string]>;
}
