import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { labelTableCells } from './lib/table-cards.ts';
import { SessionProvider } from './session.tsx';
import './styles.css';

const root = document.getElementById('root')!;
labelTableCells(root);
createRoot(root).render(
  <StrictMode>
    <SessionProvider>
      <App />
    </SessionProvider>
  </StrictMode>,
);
