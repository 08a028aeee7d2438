// Vite bundles the style sheets a module imports.
declare module '*.css';
