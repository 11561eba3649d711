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

export function PsfForm({ index, op, issue, onChange }: Props) {
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
          <input type="radio" checked={!fromFits} onChange={() => onChange({ type: 'psf', fwhmPx: 2.5 })} /> Gaussian
        </label>
        <label>
          <input type="radio" checked={fromFits} onChange={() => onChange({ type: 'psf', fits: files[0]?.name ?? '' })} /> From a FITS image
        </label>
      </div>
      {!isFitsPsf(op) && (
        <NumberField
          label="FWHM"
          unit="pixels"
          value={op.fwhmPx}
          min={0.01}
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
