import { useMemo } from 'react';
import { useStore } from '../store/index';
import { NumberField, FileButton, Section, Help } from '../model/fields';
import { setTrainingFiles, startTraining, stopTraining } from './actions';
import { ChartCanvas } from '../run/ChartCanvas';
import { lossTrace, valLossTrace } from '../run/previews';
import { formatBytes, formatDuration, formatValue } from '../run/format';
import { readFileBytes } from '../export/download';

const busy = (s: string) => s === 'starting' || s === 'running' || s === 'stopping';

async function readAll(files: File[]) {
  const out: { name: string; bytes: Uint8Array }[] = [];
  for (const f of files) out.push({ name: (f.webkitRelativePath || f.name).split('/').pop()!, bytes: await readFileBytes(f) });
  return out;
}

/** Train your own prior: data, settings, loss curve, stop and resume; the result appears in the picker. */
export function TrainPanel() {
  const data = useStore((s) => s.trainData);
  const t = useStore((s) => s.trainSettings);
  const set = useStore((s) => s.setTrainSettings);
  const train = useStore((s) => s.train);
  const isBusy = busy(train.state);
  const series = useMemo(
    () => [
      { trace: lossTrace, color: '#2f6fd6', label: 'loss' },
      { trace: valLossTrace, color: '#e0703a', label: 'validation' },
    ],
    [],
  );
  const options = useMemo(() => ({ logY: true, xLabel: 'step', xMax: train.steps }), [train.steps]);
  const canResume = !isBusy && (train.state === 'cancelled' || train.state === 'error' || train.state === 'done');
  return (
    <Section title="Train your own prior" testId="train-section">
      <Help>Denoising score matching on your images: a FITS cube (one image per plane) or a folder of FITS images of the same kind of object.</Help>
      <div className="row">
        <FileButton label="FITS cube…" accept=".fits,.fit,.fts,.fz,.gz" ariaLabel="Training FITS cube" testId="train-cube" disabled={isBusy} onFiles={async (fs) => setTrainingFiles(await readAll(fs))} />
        <FileButton label="Folder…" directory multiple ariaLabel="Training folder" disabled={isBusy} onFiles={async (fs) => setTrainingFiles(await readAll(fs))} />
      </div>
      <p className="value" data-testid="train-data">
        {data ? `${data.names.length === 1 ? data.names[0] : `${data.names.length} files`} · ${formatBytes(data.size)}` : 'no data chosen'}
      </p>
      <div className="grid2">
        <label className="field">
          Name
          <input aria-label="New prior name" value={t.name} disabled={isBusy} onChange={(e) => set({ name: e.target.value })} pattern="[A-Za-z0-9][A-Za-z0-9_\-]*" />
        </label>
        <NumberField label="Size" unit="px" integer min={8} max={1024} value={t.size} disabled={isBusy} help="images are block-averaged to size×size" onChange={(v) => set({ size: v })} />
        <NumberField label="Steps" integer min={1} max={10000000} value={t.steps} disabled={isBusy} testId="train-steps" help="learning rate: warm-up in the first 10 %, decay to 0 in the last 10 %" onChange={(v) => set({ steps: v })} />
        <NumberField label="Batch" integer min={1} max={1024} value={t.batch} disabled={isBusy} onChange={(v) => set({ batch: v })} />
        <label className="field">
          Network width
          <select aria-label="Network width" value={t.nf} disabled={isBusy} onChange={(e) => set({ nf: Number(e.target.value) })}>
            <option value={8}>8 (a quick test)</option>
            <option value={16}>16 (small)</option>
            <option value={32}>32 (standard)</option>
            <option value={64}>64 (large, slow)</option>
          </select>
        </label>
        <div className="field">
          <label className="check">
            <input type="checkbox" checked={t.scale === null} disabled={isBusy} onChange={(e) => set({ scale: e.target.checked ? null : 255 })} /> automatic data scale
          </label>
          {t.scale !== null && <NumberField label="Divide by" min={Number.MIN_VALUE} value={t.scale} disabled={isBusy} onChange={(v) => set({ scale: v })} />}
        </div>
      </div>
      <div className="row">
        <button type="button" className="primary" disabled={isBusy || !data} onClick={() => void startTraining(false)} data-testid="train-start">
          Train
        </button>
        <button type="button" disabled={!isBusy || train.state === 'stopping'} onClick={() => void stopTraining()} data-testid="train-stop">
          Stop
        </button>
        <button type="button" disabled={!canResume || !data} onClick={() => void startTraining(true)} data-testid="train-resume">
          Resume
        </button>
      </div>
      {train.state !== 'idle' && (
        <div className="progress" data-testid="train-progress" data-state={train.state} data-step={train.step}>
          <progress max={1} value={train.steps ? train.step / train.steps : 0} aria-label="Training progress" />
          <span>
            {train.state === 'starting'
              ? 'starting…'
              : `step ${train.step} / ${train.steps} · loss ${formatValue(train.loss)}${train.valLoss !== null ? ` · val ${formatValue(train.valLoss)}` : ''}${train.imagesPerS ? ` · ${train.imagesPerS.toFixed(1)} img/s` : ''}${isBusy ? ` · ETA ${formatDuration(train.etaS)}` : ''}`}
          </span>
          {train.message && <p className={train.state === 'error' ? 'err' : 'muted'}>{train.message}</p>}
          {train.out && <small className="muted">model folder: {train.out}</small>}
        </div>
      )}
      {(train.state !== 'idle' || lossTrace.length > 0) && <ChartCanvas series={series} options={options} version={train.chartVersion} height={120} title="Training loss" testId="loss-chart" pngName="training-loss.png" />}
    </Section>
  );
}
