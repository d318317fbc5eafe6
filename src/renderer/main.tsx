import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import { createBrokerApi } from './api/index.js';
import { windowMode } from './shell/mode.js';
import './styles.css';

const root = document.getElementById('root');
if (!root) throw new Error('missing #root');
createRoot(root).render(
  <StrictMode>
    <App broker={createBrokerApi()} shell={window.backlot ?? null} mode={windowMode(window.location.hash)} />
  </StrictMode>,
);
