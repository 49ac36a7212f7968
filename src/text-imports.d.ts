// Types for the files src/ embeds as text (dist/ init files, docs/config.md) (`import x from "…" with { type: "text" }`).
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
declare module "*.md" {
  const text: string;
  export default text;
}
