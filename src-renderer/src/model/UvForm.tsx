import { useEffect, useRef } from 'react';
import { useStore } from '../store/index';
import type { StageSpec, UvStage } from '../../../src-shared/operators/forward-model-spec';
import { NumberField, FileButton } from './fields';
import { addModelFile } from './actions';
import { readFileBytes } from '../export/download';
import { ImageCanvas } from '../run/ImageCanvas';
import { getOverlay } from '../run/previews';
import { downloadCanvasPng } from '../export/download';
import { context2d } from '../canvas2d';
import { useRadio } from '../radio/state';

interface Props {
  index: number;
  op: UvStage;
  issue(field: string): string | null;
  onChange(op: StageSpec): void;
}

function UvPlot({ u, v, max, version, index }: { u: Float32Array; v: Float32Array; max: number; version: number; index: number }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const c = ref.current;
    if (!c) return;
    const size = 130;
    const dpr = Math.min(2, window.devicePixelRatio || 1);
    c.width = size * dpr;
    c.height = size * dpr;
    const ctx = context2d(c)!;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = '#0c0f14';
    ctx.fillRect(0, 0, size, size);
    ctx.strokeStyle = 'rgba(255,255,255,0.2)';
    ctx.beginPath();
    ctx.moveTo(size / 2, 0);
    ctx.lineTo(size / 2, size);
    ctx.moveTo(0, size / 2);
    ctx.lineTo(size, size / 2);
    ctx.stroke();
    const r = (max || 1) * 1.05;
    ctx.fillStyle = '#7fd1ff';
    for (let k = 0; k < u.length; k++) ctx.fillRect(size / 2 + (u[k]! / r) * (size / 2) - 0.5, size / 2 - (v[k]! / r) * (size / 2) - 0.5, 1.2, 1.2);
  }, [u, v, max, version]);
  return (
    <figure className="imgcanvas" data-testid="uv-coverage">
      <canvas ref={ref} style={{ width: 130, height: 130 }} role="img" aria-label="uv coverage" data-points={u.length} />
      <figcaption>
        <span>uv coverage ({u.length} points)</span>
        <button
          type="button"
          className="mini"
          title="Show the uv coverage at full size over the images"
          data-testid={`uv-full-size-${index}`}
          onClick={() => useRadio.getState().set({ operatorUv: { u, v, maxBaseline: max, title: `uv coverage — operator ${index + 1}` } })}
        >
          Full size
        </button>
        <button type="button" className="mini" aria-label="Save uv coverage as PNG" onClick={() => ref.current && void downloadCanvasPng(ref.current, 'uv-coverage.png')}>
          PNG
        </button>
      </figcaption>
    </figure>
  );
}

/** Interferometer: Earth-rotation synthesis from a station table; the uv coverage and the dirty beam. */
export function UvForm({ index, op, issue, onChange }: Props) {
  const version = useStore((s) => s.overlayVersion);
  const o = getOverlay(index);
  const uv = o?.kind === 'uv' ? o : null;
  const set = (patch: Partial<UvStage>) => onChange({ ...op, ...patch });
  return (
    <div className="opform">
      <div className="row">
        <FileButton
          label="Station table…"
          accept=".txt,.dat,.csv,text/plain"
          ariaLabel={`Station table ${index + 1}`}
          onFiles={async (fs) => {
            const f = fs[0]!;
            const name = await addModelFile(f.name, await readFileBytes(f), 'array');
            set({ array: name });
          }}
        />
        <span className="filename">{op.array || 'none chosen'}</span>
      </div>
      <small className={issue('array') ? 'err' : 'muted'}>{issue('array') ?? 'One station a line: NAME X Y Z (ECEF metres); # starts a comment.'}</small>
      <div className="grid2">
        <NumberField label="Declination" unit="°" min={-90} max={90} value={op.declinationDeg} onChange={(v) => set({ declinationDeg: v })} issue={issue('declinationDeg')} />
        <NumberField label="Wavelength" unit="m" min={1e-9} value={op.wavelengthM} onChange={(v) => set({ wavelengthM: v })} issue={issue('wavelengthM')} />
        <NumberField label="Hour angle from" unit="h" min={-12} max={12} value={op.hourAngleH[0]} onChange={(v) => set({ hourAngleH: [v, op.hourAngleH[1]] })} issue={issue('hourAngleH')} />
        <NumberField label="to" unit="h" min={-12} max={12} value={op.hourAngleH[1]} onChange={(v) => set({ hourAngleH: [op.hourAngleH[0], v] })} />
        <NumberField label="Time step" unit="min" min={0.01} value={op.stepMin} onChange={(v) => set({ stepMin: v })} issue={issue('stepMin')} />
        <NumberField label="Pixel scale" unit="″" min={1e-9} value={op.pixelScaleArcsec} onChange={(v) => set({ pixelScaleArcsec: v })} issue={issue('pixelScaleArcsec')} />
      </div>
      {uv && (
        <div className="pair">
          <UvPlot u={uv.u} v={uv.v} max={uv.maxBaseline} version={version} index={index} />
          <ImageCanvas data={uv.beam} shape={uv.shape} version={version} title="Dirty beam" caption="dirty beam (peak 1)" map="diverging" limits="symmetric" width={130} testId={`uv-beam-${index}`} pngName="dirty-beam.png" />
        </div>
      )}
    </div>
  );
}
