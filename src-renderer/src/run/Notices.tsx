import { useEffect } from 'react';
import { useStore } from '../store/index';

/** The app's messages (ui slice notices): errors stay until dismissed, others fade after a while. */
export function Notices() {
  const notices = useStore((s) => s.notices);
  const dismiss = useStore((s) => s.dismiss);
  useEffect(() => {
    const timers = notices.filter((n) => n.level !== 'error').map((n) => setTimeout(() => dismiss(n.id), 8000));
    return () => timers.forEach(clearTimeout);
  }, [notices, dismiss]);
  if (!notices.length) return null;
  return (
    <div className="notices" aria-live="assertive">
      {notices.map((n) => (
        <div key={n.id} className={`notice notice-${n.level}`} role={n.level === 'error' ? 'alert' : 'status'} data-testid={`notice-${n.level}`}>
          <span>{n.text}</span>
          <button type="button" className="mini" aria-label="Dismiss message" onClick={() => dismiss(n.id)}>
            ✕
          </button>
        </div>
      ))}
    </div>
  );
}
