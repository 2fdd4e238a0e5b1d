declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
declare module "*.toml" {
  const text: string;
  export default text;
}
