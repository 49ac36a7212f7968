// Types for the init files in dist/ that src/install embeds as text (`import x from "…" with { type: "text" }`).
declare module "*.service" {
  const text: string;
  export default text;
}
declare module "*.init" {
  const text: string;
  export default text;
}
declare module "*.snippet" {
  const text: string;
  export default text;
}
declare module "*.sh" {
  const text: string;
  export default text;
}
