/** Stylesheets are bundled by esbuild into the hashed CSS file next to the script. */
declare module '*.css';
