import { useEffect, useRef } from 'react';
import { useStore } from '../store/index';
import { isFitsPsf, psfNormalized, type PsfStage, type StageSpec } from '../../../src-shared/operators/forward-model-spec';
import { NumberField, FileButton } from './fields';
import { addModelFile } from './actions';
import { readFileBytes } from '../export/download';
import { ImageCanvas } from '../run/ImageCanvas';
import { getOverlay } from '../run/previews';

interface Props {
  index: number;
  op: PsfStage;
  issue(field: string): string | null;
  onChange(op: StageSpec): void;
}

/**
 * The FWHM of a PSF kernel from its second moments about its centroid (positive part; a Gaussian's exactly):
 * FWHM = 2.3548 √((σx² + σy²)/2), in pixels; null when the kernel has no positive mass.
 */
export function kernelFwhm(kernel: ArrayLike<number>, shape: readonly [number, number] | readonly number[]): number | null {
  const [ny, nx] = [shape[0]!, shape[1]!];
  let s = 0;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < ny; i++) {
    for (let j = 0; j < nx; j++) {
      const v = Math.max(0, kernel[i * nx + j]!);
      s += v;
      sx += v * j;
      sy += v * i;
    }
  }
  if (!(s > 0)) return null;
  const cx = sx / s;
  const cy = sy / s;
  let m2 = 0;
  for (let i = 0; i < ny; i++) for (let j = 0; j < nx; j++) m2 += Math.max(0, kernel[i * nx + j]!) * ((j - cx) ** 2 + (i - cy) ** 2);
  const sigma = Math.sqrt(m2 / s / 2);
  return sigma > 0 ? Number((2.3548 * sigma).toPrecision(3)) : null;
}

export function PsfForm({ index, op, issue, onChange }: Props) {
  // the Gaussian's FWHM survives a switch to a FITS PSF and back
  const lastFwhm = useRef<number | null>(isFitsPsf(op) ? null : op.fwhmPx);
  const gaussianFwhm = isFitsPsf(op) ? null : op.fwhmPx;
  useEffect(() => {
    if (gaussianFwhm !== null) lastFwhm.current = gaussianFwhm;
  }, [gaussianFwhm]);
  const version = useStore((s) => s.overlayVersion);
  const allFiles = useStore((s) => s.forwardModelFiles);
  const files = allFiles.filter((f) => f.role === 'psf');
  const fromFits = isFitsPsf(op);
  const o = getOverlay(index);
  const kernel = o?.kind === 'psf' ? o : null;
  return (
    <div className="opform">
      <div className="radios" role="radiogroup" aria-label={`PSF ${index + 1} kind`}>
        <label>
          <input
            type="radio"
            checked={!fromFits}
            data-testid={`psf-kind-gaussian-${index}`}
            onChange={() => {
              // the FWHM it had, else the FITS kernel's own (second moments), else the default
              const fromKernel = kernel ? kernelFwhm(kernel.kernel, kernel.shape) : null;
              onChange({ type: 'psf', fwhmPx: lastFwhm.current ?? fromKernel ?? 2.5 });
            }}
          />{' '}
          Gaussian
        </label>
        <label>
          <input type="radio" checked={fromFits} data-testid={`psf-kind-fits-${index}`} onChange={() => onChange({ type: 'psf', fits: files[0]?.name ?? '' })} /> From a FITS image
        </label>
      </div>
      {!isFitsPsf(op) && (
        <NumberField
          label="FWHM"
          unit="px"
          value={op.fwhmPx}
          min={Number.MIN_VALUE}
          max={1000}
          testId={`psf-fwhm-${index}`}
          help="Full width at half maximum of the Gaussian (σ = FWHM/2.3548)."
          issue={issue('fwhmPx')}
          onChange={(v) => onChange({ type: 'psf', fwhmPx: v })}
        />
      )}
      {isFitsPsf(op) && (
        <>
          <div className="row">
            <FileButton
              label="PSF FITS…"
              accept=".fits,.fit,.fts,.fz,.gz"
              ariaLabel={`PSF ${index + 1} FITS file`}
              testId={`psf-file-${index}`}
              onFiles={async (fs) => {
                const f = fs[0]!;
                const name = await addModelFile(f.name, await readFileBytes(f), 'psf');
                onChange({ ...op, fits: name });
              }}
            />
            <span className="filename">{op.fits || 'none chosen'}</span>
          </div>
          {issue('fits') && <small className="err">{issue('fits')}</small>}
          <div className="grid2">
            <NumberField label="HDU" integer min={0} value={op.hdu ?? 0} onChange={(v) => onChange({ ...op, hdu: v })} issue={issue('hdu')} />
            <label className="check">
              <input type="checkbox" checked={psfNormalized(op)} onChange={(e) => onChange({ ...op, normalize: e.target.checked })} /> normalise to unit sum
            </label>
          </div>
          <small className="muted">Centre at pixel ⌊K/2⌋ on each axis. Untick "normalise" only for a dirty beam with negative side lobes.</small>
        </>
      )}
      {kernel && (
        <ImageCanvas
          data={kernel.kernel}
          shape={kernel.shape}
          version={version}
          title={`PSF ${kernel.shape[0]}×${kernel.shape[1]}`}
          caption={`PSF ${kernel.shape[0]}×${kernel.shape[1]} (log), sum ${kernel.sum.toFixed(4)}`}
          stretch="log"
          map="heat"
          limits="minmax"
          width={120}
          testId={`psf-thumb-${index}`}
        />
      )}
    </div>
  );
}
