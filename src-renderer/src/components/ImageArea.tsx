/**
 * The image area: the viewer's toolbar, the panels side by side (observation, posterior mean, std, residual,
 * samples…), the cursor read-out, and the ways in — File › Open FITS… (menu), the Open button (dialog) and
 * drag-and-drop of a file anywhere here.
 */
import { useEffect, useState } from 'react';
import { useStore } from '../store/index';
import { getClient } from '../api/client';
import { Panel } from '../viewer/Panel';
import { ViewerToolbar, OpenButton } from '../viewer/ViewerToolbar';
import { Readout } from '../viewer/Readout';
import { HeaderViewer } from '../viewer/HeaderViewer';
import { openFile, openFitsBytes } from '../viewer/open';
import { showImage } from '../viewer/images';
import { connectViewer } from '../run/viewer-bridge';
import { WelcomeCard } from '../example/WelcomeCard';
import '../viewer/viewer.css';

function useMenuAndBridge() {
  useEffect(() => {
    const off = getClient().onMenu((p) => {
      const m = p as { action?: unknown; name?: unknown; bytes?: unknown };
      if (m?.action === 'open-file' && typeof m.name === 'string' && m.bytes instanceof Uint8Array) void openFitsBytes(m.name, m.bytes);
    });
    connectViewer((img) => showImage(img));
    // a scripting handle (console, tests): the same API the run panel uses
    (window as unknown as { skyscoreViewer?: unknown }).skyscoreViewer = Object.freeze({ showImage });
    return () => {
      off();
      connectViewer(null);
    };
  }, []);
}

export function ImageArea() {
  useMenuAndBridge();
  const order = useStore((s) => s.order);
  const busy = useStore((s) => s.viewerBusy);
  const error = useStore((s) => s.viewerError);
  const warnings = useStore((s) => s.viewerWarnings);
  const note = useStore((s) => s.rendererNote);
  const setError = useStore((s) => s.setViewerError);
  // first start: nothing open yet and the welcome card not dismissed before
  const welcome = useStore((s) => !s.welcomeDismissed && s.obs === null);
  const [dragOver, setDragOver] = useState(false);

  const onDrop = (e: React.DragEvent) => {
    e.preventDefault();
    setDragOver(false);
    const f = e.dataTransfer.files?.[0];
    if (f) void openFile(f);
  };

  return (
    <main
      className={`imagearea viewer ${dragOver ? 'dragover' : ''}`}
      aria-label="Images"
      onDragOver={(e) => {
        if (e.dataTransfer.types.includes('Files')) {
          e.preventDefault();
          setDragOver(true);
        }
      }}
      onDragLeave={(e) => {
        if (e.currentTarget === e.target) setDragOver(false);
      }}
      onDrop={onDrop}
    >
      <ViewerToolbar />
      {(error || busy || note || warnings.length > 0) && (
        <div className="viewer-messages">
          {error && (
            <div className="msg error" role="alert" data-testid="viewer-error">
              {error}
              <button type="button" onClick={() => setError(null)} aria-label="Dismiss">
                ×
              </button>
            </div>
          )}
          {busy && (
            <div className="msg info" role="status" data-testid="viewer-busy">
              {busy}
            </div>
          )}
          {note && (
            <div className="msg warn" data-testid="renderer-note">
              {note}
            </div>
          )}
          {warnings.length > 0 && (
            <div className="msg warn" data-testid="viewer-warnings">
              {warnings.slice(0, 3).join(' · ')}
              {warnings.length > 3 ? ` (+${warnings.length - 3} more)` : ''}
            </div>
          )}
        </div>
      )}
      {order.length === 0 ? (
        <div className="empty">
          <div>
            {welcome && <WelcomeCard />}
            <p>Open a FITS file to begin: File › Open FITS…, the button below, or drop the file here.</p>
            <p>
              <OpenButton label="Open a FITS file…" />
            </p>
          </div>
        </div>
      ) : (
        <div className={`panels n${Math.min(order.length, 4)}`}>
          {order.map((id) => (
            <Panel key={id} id={id} />
          ))}
        </div>
      )}
      {order.length > 0 && <Readout />}
      <HeaderViewer />
      {dragOver && <div className="drop-overlay">Drop the FITS file to open it</div>}
    </main>
  );
}
