import { useEffect } from 'react';
import { useStore } from './store/index';
import { getClient } from './api/client';
import { Toolbar } from './components/Toolbar';
import { SidePanel } from './components/SidePanel';
import { ImageArea } from './components/ImageArea';
import { StatusBar } from './components/StatusBar';
import { Notices } from './run/Notices';

function useThemeClass() {
  const theme = useStore((s) => s.theme);
  useEffect(() => {
    const root = document.documentElement;
    const mq = window.matchMedia('(prefers-color-scheme: dark)');
    const apply = () => {
      const dark = theme === 'dark' || (theme === 'system' && mq.matches);
      root.dataset.theme = dark ? 'dark' : 'light';
    };
    apply();
    mq.addEventListener('change', apply);
    return () => mq.removeEventListener('change', apply);
  }, [theme]);
}

function useEngine() {
  const setInfo = useStore((s) => s.setEngineInfo);
  const setState = useStore((s) => s.setEngineState);
  useEffect(() => {
    const client = getClient();
    let alive = true;
    const query = () =>
      client.request('engine.info', {}).then(
        (info) => alive && setInfo(info),
        (e: Error) => alive && setState('error', e.message),
      );
    const offEvent = client.onEvent((ev) => {
      if (ev.event === 'engine.status') {
        if (ev.data.state === 'restarting') setState('restarting', ev.data.message ?? null);
        if (ev.data.state === 'ready') void query();
      }
    });
    void query();
    return () => {
      alive = false;
      offEvent();
    };
  }, [setInfo, setState]);
}

export function App() {
  useThemeClass();
  useEngine();
  const sideOpen = useStore((s) => s.sidePanelOpen);
  return (
    <div className={`app ${sideOpen ? '' : 'side-closed'}`}>
      <Toolbar />
      {sideOpen && <SidePanel />}
      <ImageArea />
      <StatusBar />
      <Notices />
    </div>
  );
}
