import { useStore, type AppState } from '../store/index';
import type { ThemeChoice } from '../store/ui';

export function Toolbar() {
  const theme = useStore((s: AppState) => s.theme);
  const setTheme = useStore((s) => s.setTheme);
  const toggleSide = useStore((s) => s.toggleSidePanel);
  return (
    <header className="toolbar" role="toolbar" aria-label="Main toolbar">
      <button type="button" onClick={toggleSide} aria-label="Toggle side panel" title="Toggle side panel">
        ☰
      </button>
      <strong className="brand">SkyScore</strong>
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
