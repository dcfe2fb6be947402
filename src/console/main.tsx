/** The operator console's entry point: bundled by scripts/build-console.mjs into dist/console/. */
import './styles.css';
import { render } from 'preact';
import { App } from './App';

const root = document.getElementById('app');
if (root !== null) render(<App />, root);
