import { useEffect } from 'react';
import { useStore, type AppState } from '../store/index';
import type { ThemeChoice } from '../store/ui';
import { installExampleMenu, openExample } from '../example/actions';

export function Toolbar() {
  const theme = useStore((s: AppState) => s.theme);
  const setTheme = useStore((s) => s.setTheme);
  const toggleSide = useStore((s) => s.toggleSidePanel);
  const exampleLoading = useStore((s) => s.exampleLoading);
  useEffect(() => installExampleMenu(), []);
  return (
    <header className="toolbar" role="toolbar" aria-label="Main toolbar">
      <button type="button" onClick={toggleSide} aria-label="Toggle side panel" title="Toggle side panel">
        ☰
      </button>
      <strong className="brand">SkyScore</strong>
      <button type="button" onClick={() => void openExample()} disabled={exampleLoading} data-testid="toolbar-open-example" title="Open the bundled example: a galaxy blurred by a PSF with noise, its forward model and the default prior (replaces what is open)">
        Open example
      </button>
      <span className="spacer" />
      <label className="muted">
        Theme{' '}
        <select value={theme} onChange={(e) => setTheme(e.target.value as ThemeChoice)} aria-label="Theme">
          <option value="system">system</option>
          <option value="light">light</option>
          <option value="dark">dark</option>
        </select>
      </label>
    </header>
  );
}
