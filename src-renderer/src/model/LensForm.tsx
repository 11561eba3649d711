import { useCallback } from 'react';
import { useStore } from '../store/index';
import { lensParams, lensSupersample, type LensModel, type LensStage, type StageSpec } from '../../../src-shared/operators/forward-model-spec';
import { NumberField } from './fields';
import { withMassModel } from './editing';
import { ImageCanvas } from '../run/ImageCanvas';
import { getOverlay, currentEstimate } from '../run/previews';
import { obsPlanePixels } from './files';
import { LensFitPanel } from '../lensing/LensFitPanel';

interface Props {
  index: number;
  op: LensStage;
  issue(field: string): string | null;
  onChange(op: StageSpec): void;
}

type Curves = Float32Array[];

/** Draws polylines given in arcsec on a grid of `shape` with pixel scale `s` (pixel centre convention of docs/forward-models.md). */
function drawCurves(ctx: CanvasRenderingContext2D, m: { sx: (x: number) => number; sy: (y: number) => number }, curves: Curves, shape: [number, number], s: number, color: string) {
  const [ny, nx] = shape;
  ctx.strokeStyle = color;
  ctx.lineWidth = 1.5;
  for (const c of curves) {
    ctx.beginPath();
    for (let k = 0; k + 1 < c.length; k += 2) {
      const px = c[k]! / s + (nx - 1) / 2;
      const py = c[k + 1]! / s + (ny - 1) / 2;
      if (k === 0) ctx.moveTo(m.sx(px), m.sy(py));
      else ctx.lineTo(m.sx(px), m.sy(py));
    }
    ctx.stroke();
  }
}

const MASS_LABELS: Record<LensModel, string> = {
  SIE: 'SIE (isothermal ellipsoid)',
  SIS: 'SIS (isothermal sphere)',
  EPL: 'EPL (elliptical power law)',
};

/** Strong lens: SIE, SIS or EPL + external shear, with critical curves on the image plane and caustics on the source plane. */
export function LensForm({ index, op, issue, onChange }: Props) {
  const version = useStore((s) => s.overlayVersion);
  const runVersion = useStore((s) => s.run.previewVersion);
  const obs = useStore((s) => s.obs);
  const doc = useStore((s) => s.modelDoc);
  const o = getOverlay(index);
  const lens = o?.kind === 'lens' ? o : null;
  const set = (patch: Partial<LensStage>) => onChange({ ...op, ...patch });
  const setLens = (patch: Partial<LensStage['lens']>) => onChange({ ...op, lens: { ...op.lens, ...patch } });
  const setShear = (patch: Partial<NonNullable<LensStage['shear']>>) => onChange({ ...op, shear: { gamma1: 0, gamma2: 0, ...op.shear, ...patch } });
  // the values in force (defaults for fields the document leaves out)
  const p = lensParams(op);

  const imgShape = op.imageShape;
  const bgObs = obs && obs.shape[0] === imgShape[0] && obs.shape[1] === imgShape[1] ? obsPlanePixels(obs.hdu, obs.plane) : null;
  const est = currentEstimate();
  const srcShape = doc.shape;
  const bgSrc = est && est.shape[0] === srcShape[0] && est.shape[1] === srcShape[1] ? est.data : null;

  const imageOverlay = useCallback(
    (ctx: CanvasRenderingContext2D, m: { sx: (x: number) => number; sy: (y: number) => number }) => {
      if (lens) drawCurves(ctx, m, lens.critical, lens.imageShape, lens.imagePixelScale, '#ff5050');
    },
    [lens],
  );
  const sourceOverlay = useCallback(
    (ctx: CanvasRenderingContext2D, m: { sx: (x: number) => number; sy: (y: number) => number }) => {
      if (lens) drawCurves(ctx, m, lens.caustics, lens.sourceShape, lens.sourcePixelScale, '#3fb0ff');
    },
    [lens],
  );
  const fov = (n: number, s: number) => (n * s).toFixed(2);
  return (
    <div className="opform">
      <div className="grid2">
        <NumberField label="Image ny" integer min={1} max={8192} value={op.imageShape[0]} onChange={(v) => set({ imageShape: [v, op.imageShape[1]] })} issue={issue('imageShape')} />
        <NumberField label="Image nx" integer min={1} max={8192} value={op.imageShape[1]} onChange={(v) => set({ imageShape: [op.imageShape[0], v] })} />
        <NumberField label="Image pixel" unit="″" min={1e-6} value={op.imagePixelScale} onChange={(v) => set({ imagePixelScale: v })} issue={issue('imagePixelScale')} help={`field ${fov(op.imageShape[1], op.imagePixelScale)}″`} />
        <NumberField label="Source pixel" unit="″" min={1e-6} value={op.sourcePixelScale} onChange={(v) => set({ sourcePixelScale: v })} issue={issue('sourcePixelScale')} help={`field ${fov(srcShape[1], op.sourcePixelScale)}″`} />
        <NumberField label="Supersampling" integer min={1} max={16} value={lensSupersample(op)} onChange={(v) => set({ supersample: v })} issue={issue('supersample')} help="sub-pixels per side" />
      </div>
      <h4>Mass</h4>
      <label className="row">
        Profile
        <select aria-label="Mass profile" data-testid={`lens-model-${index}`} value={p.model} onChange={(e) => onChange({ ...op, lens: withMassModel(op.lens, e.target.value as LensModel) })}>
          {(Object.keys(MASS_LABELS) as LensModel[]).map((m) => (
            <option key={m} value={m}>
              {MASS_LABELS[m]}
            </option>
          ))}
        </select>
      </label>
      <div className="grid2">
        <NumberField label="θE" unit="″" min={1e-6} value={p.thetaE} onChange={(v) => setLens({ thetaE: v })} issue={issue('lens.thetaE')} testId={`lens-thetaE-${index}`} help="Einstein radius" />
        {p.model !== 'SIS' && <NumberField label="q" min={1e-3} max={1} value={p.q} onChange={(v) => setLens({ q: v })} issue={issue('lens.q')} help="axis ratio (0, 1]" />}
        <NumberField label="φ" unit="rad" value={p.phi} onChange={(v) => setLens({ phi: v })} issue={issue('lens.phi')} help={`${((p.phi * 180) / Math.PI).toFixed(1)}° CCW from +x`} />
        <NumberField label="x0" unit="″" value={p.x0} onChange={(v) => setLens({ x0: v })} issue={issue('lens.x0')} />
        <NumberField label="y0" unit="″" value={p.y0} onChange={(v) => setLens({ y0: v })} issue={issue('lens.y0')} />
        {p.model === 'EPL' && (
          <NumberField label="Slope γ" min={1.01} max={2.99} value={p.gamma ?? 2} onChange={(v) => setLens({ gamma: v })} issue={issue('lens.gamma')} testId={`lens-gamma-${index}`} help="slope: κ ∝ R^(1−γ); 2 is the SIE" />
        )}
      </div>
      <h4>External shear</h4>
      <div className="grid2">
        <NumberField label="γ1" value={p.gamma1} onChange={(v) => setShear({ gamma1: v })} issue={issue('shear.gamma1')} />
        <NumberField label="γ2" value={p.gamma2} onChange={(v) => setShear({ gamma2: v })} issue={issue('shear.gamma2')} />
      </div>
      <div className="pair">
        <ImageCanvas
          data={bgObs?.data ?? new Float32Array(imgShape[0] * imgShape[1])}
          shape={imgShape}
          version={version + (bgObs ? 1 : 0)}
          title="Image plane with critical curves"
          caption="image plane: critical curves"
          stretch="asinh"
          width={130}
          overlay={imageOverlay}
          testId={`lens-image-${index}`}
          pngName="lens-image-plane.png"
        />
        <ImageCanvas
          data={bgSrc ?? new Float32Array(srcShape[0] * srcShape[1])}
          shape={srcShape}
          version={version + runVersion}
          title="Source plane with caustics"
          caption="source plane: caustics"
          stretch="asinh"
          width={130}
          overlay={sourceOverlay}
          testId={`lens-source-${index}`}
          pngName="lens-source-plane.png"
        />
      </div>
      {lens && (
        <small className="muted" data-testid={`lens-curves-${index}`}>
          {lens.critical.length} critical curve{lens.critical.length === 1 ? '' : 's'}, {lens.caustics.length} caustic{lens.caustics.length === 1 ? '' : 's'}
        </small>
      )}
      <LensFitPanel op={op} />
    </div>
  );
}
