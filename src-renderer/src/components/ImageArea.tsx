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
import { openFile, openFitsBytes, adoptViewed, keepViewing, VIEWED_ID, OBSERVATION_ID } from '../viewer/open';
import { warmRenderer } from '../viewer/renderer';
import { warmFitsWorker } from '../viewer/fits-local';
import { getPixels } from '../cache/pixels';
import { showImage } from '../viewer/images';
import { connectViewer, type ResultImage } from '../run/viewer-bridge';
import { observationSource } from '../model/viewer-link';
import { CutoutDialog } from './CutoutDialog';
import { RegionStats } from '../viewer/RegionStats';
import { WelcomeCard } from '../example/WelcomeCard';
import { VisibilitiesView, UvFullSize } from '../radio/VisibilitiesView';
import { useRadio } from '../radio/state';
import '../viewer/viewer.css';

function useMenuAndBridge() {
  useEffect(() => {
    const off = getClient().onMenu((p) => {
      const m = p as { action?: unknown; name?: unknown; bytes?: unknown };
      if (m?.action === 'open-file' && typeof m.name === 'string' && m.bytes instanceof Uint8Array) void openFitsBytes(m.name, m.bytes);
    });
    connectViewer(showResultImage);
    // the FITS worker and the GL check start while the page is idle, not when the first file is opened
    warmFitsWorker();
    warmRenderer();
    // a scripting handle (console, tests): the same API the run panel uses
    (window as unknown as { skyscoreViewer?: unknown }).skyscoreViewer = Object.freeze({ showImage });
    return () => {
      off();
      connectViewer(null);
    };
  }, []);
}

/**
 * Images from the editor and the run: each is marked with the observation it belongs to — products are titled
 * with it, so that a result never passes for another observation's.
 */
function showResultImage(img: ResultImage): void {
  const source = observationSource();
  const product = img.role !== 'observation';
  // results on the observation's grid (no lens: the unknown is the data's grid) read out its sky coordinates
  const obs = getPixels(OBSERVATION_ID);
  const onGrid = product && !img.header && obs?.header && obs.width === img.shape[1] && obs.height === img.shape[0] && !useStore.getState().modelDoc.operators.some((o) => o.type === 'lens');
  showImage({
    ...img,
    title: product && source ? `${img.title} — ${source.label}` : img.title,
    source,
    ...(onGrid ? { header: obs.header, bunit: img.role === 'residual' ? 'σ' : obs.header!.getString('BUNIT')?.trim() || null } : {}),
  });
}

/** A file opened while another is the observation: shown apart, with the question whether it becomes it. */
function AskObservation() {
  const ask = useStore((s) => s.viewerAsk);
  const shown = useStore((s) => !!s.images[VIEWED_ID]);
  if (!ask || !shown) return null;
  return (
    <div className="msg info ask" role="status" data-testid="viewer-ask">
      <span>
        <strong>{ask.name}</strong> is open for viewing only{ask.observation ? <>: the run uses the observation <strong>{ask.observation}</strong></> : null}.
      </span>
      <button type="button" onClick={() => void adoptViewed()} data-testid="ask-use-observation">
        Use {ask.name} as the observation
      </button>
      <button type="button" onClick={keepViewing} data-testid="ask-keep-viewing">
        Only view it
      </button>
    </div>
  );
}

export function ImageArea() {
  useMenuAndBridge();
  const order = useStore((s) => s.order);
  const busy = useStore((s) => s.viewerBusy);
  const error = useStore((s) => s.viewerError);
  const warnings = useStore((s) => s.viewerWarnings);
  const note = useStore((s) => s.rendererNote);
  const ask = useStore((s) => !!s.viewerAsk && !!s.images[VIEWED_ID]);
  const setError = useStore((s) => s.setViewerError);
  // first start: nothing open yet and the welcome card not dismissed before
  const welcome = useStore((s) => !s.welcomeDismissed && s.obs === null);
  const [dragOver, setDragOver] = useState(false);
  const uvOpen = useRadio((s) => s.file !== null || s.choice !== null);

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
      {(error || busy || note || ask || warnings.length > 0) && (
        <div className="viewer-messages">
          <AskObservation />
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
      <VisibilitiesView alone={order.length === 0} />
      {order.length === 0 ? (
        !uvOpen && (
          <div className="empty">
            <div>
              {welcome && <WelcomeCard />}
              <p>Open a FITS file to begin (an image, or UVFITS visibilities): File › Open FITS…, the button below, or drop the file here.</p>
              <p>
                <OpenButton label="Open a FITS file…" />
              </p>
            </div>
          </div>
        )
      ) : (
        <div className={`panels n${Math.min(order.length, 4)}`}>
          {order.map((id) => (
            <Panel key={id} id={id} />
          ))}
        </div>
      )}
      {order.length > 0 && <Readout />}
      {order.length > 0 && <RegionStats />}
      <HeaderViewer />
      <CutoutDialog />
      <UvFullSize />
      {dragOver && <div className="drop-overlay">Drop the FITS file to open it</div>}
    </main>
  );
}
