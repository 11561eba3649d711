import { useCallback, useMemo, useRef, useState } from 'react';
import { useStore } from '../store/index';
import type { MaskStage, MaskStageConvention, Shape2, StageSpec } from '../../../src-shared/operators/forward-model-spec';
import { FileButton } from './fields';
import { addModelFile, replaceModelFile } from './actions';
import { readFileBytes } from '../export/download';
import { ImageCanvas } from '../run/ImageCanvas';
import { getAux, obsPlanePixels } from './files';
import { readFitsImage, writeFits } from '../../../src-shared/fits/index';

interface Props {
  index: number;
  op: MaskStage;
  /** The grid the mask lives on (the operator's input = output shape). */
  shape: Shape2;
  issue(field: string): string | null;
  onChange(op: StageSpec): void;
}

type Tool = 'box' | 'brush' | 'erase';

export const PAINTED_MASK = 'mask-painted.fits';

/** Encodes a 0/1 mask [ny, nx] as an 8-bit FITS image. */
export function maskToFits(mask: Uint8Array, shape: Shape2): Uint8Array {
  return writeFits([{ data: mask, shape: [shape[1], shape[0]] }]);
}

function loadMask(name: string, shape: Shape2): Uint8Array | null {
  const f = getAux(name);
  if (!f) return null;
  try {
    const img = readFitsImage(f.bytes);
    if (img.shape[0] !== shape[1] || img.shape[1] !== shape[0]) return null;
    const m = new Uint8Array(shape[0] * shape[1]);
    for (let i = 0; i < m.length; i++) m[i] = img.data[i]! > 0.5 ? 1 : 0;
    return m;
  } catch {
    return null;
  }
}

/**
 * How the step reads the file's 1s (the stage's `convention`): the default and `fit` 1 = observed, `exclude` 1 =
 * missing (PyAutoLens's masks), `auto` decided by the engine (lens-fit's rule; the model check's note says how).
 */
const CONVENTIONS: [MaskStageConvention | '', string][] = [
  ['', '1 = observed (default)'],
  ['fit', '1 = observed, unchecked'],
  ['exclude', '1 = missing (PyAutoLens)'],
  ['auto', 'auto (lens-fit’s rule)'],
];

/** The mask: from a FITS file (1 = observed, 0 = missing, or the other way round: its convention) or painted on the observation. */
export function MaskForm({ index, op, shape, issue, onChange }: Props) {
  const obsMeta = useStore((s) => s.obs);
  const [tool, setTool] = useState<Tool>('box');
  const [radius, setRadius] = useState(3);
  const [dragVersion, setDragVersion] = useState(0);
  const key = `${op.fits}:${shape[0]}x${shape[1]}`;
  // The mask shown: the user's latest edit for this file and grid, else the file's content, else all observed.
  const initial = useMemo(() => {
    const file = op.fits ? loadMask(op.fits, shape) : null;
    // shown as the run reads it: 1 = observed (an exclude mask inverted; auto as the file until the engine decides)
    return file ? (op.convention === 'exclude' ? file.map((v) => 1 - v) : file) : new Uint8Array(shape[0] * shape[1]).fill(1);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- key names the file and the grid
  }, [key, op.convention]);
  const [edit, setEdit] = useState<{ key: string; data: Uint8Array } | null>(null);
  const mask = edit && edit.key === key ? edit.data : initial;
  const work = useRef<Uint8Array | null>(null);
  const drag = useRef<{ x: number; y: number; cur: { x: number; y: number } } | null>(null);

  const bg = obsMeta && obsMeta.shape[0] === shape[0] && obsMeta.shape[1] === shape[1] ? obsPlanePixels(obsMeta.hdu, obsMeta.plane) : null;
  const data = useMemo(() => bg?.data ?? new Float32Array(shape[0] * shape[1]), [bg, shape]);

  const commit = async (m: Uint8Array) => {
    const bytes = maskToFits(m, shape);
    const name = await replaceModelFile(PAINTED_MASK, bytes, 'mask');
    setEdit({ key: `${name}:${shape[0]}x${shape[1]}`, data: m });
    // a painted mask is written as 1 = observed (SkyScore's convention), whatever the file it started from
    onChange({ type: 'mask', fits: name });
  };

  const paint = (m: Uint8Array, x: number, y: number, value: 0 | 1) => {
    const [ny, nx] = shape;
    for (let i = Math.max(0, y - radius); i <= Math.min(ny - 1, y + radius); i++)
      for (let j = Math.max(0, x - radius); j <= Math.min(nx - 1, x + radius); j++) if ((i - y) ** 2 + (j - x) ** 2 <= radius * radius) m[i * nx + j] = value;
  };

  const overlay = useCallback(
    (ctx: CanvasRenderingContext2D, m: { sx: (x: number) => number; sy: (y: number) => number; scale: number }) => {
      const [ny, nx] = shape;
      const cur = work.current ?? mask;
      ctx.fillStyle = 'rgba(230, 40, 40, 0.45)';
      const s = m.scale;
      for (let i = 0; i < ny; i++) for (let j = 0; j < nx; j++) if (cur[i * nx + j] === 0) ctx.fillRect(m.sx(j) - s / 2, m.sy(i) - s / 2, s, s);
      const d = drag.current;
      if (d && tool === 'box') {
        ctx.strokeStyle = '#ffcc00';
        ctx.lineWidth = 1.5;
        const x0 = Math.min(d.x, d.cur.x);
        const x1 = Math.max(d.x, d.cur.x);
        const y0 = Math.min(d.y, d.cur.y);
        const y1 = Math.max(d.y, d.cur.y);
        ctx.strokeRect(m.sx(x0) - s / 2, m.sy(y1) - s / 2, (x1 - x0 + 1) * s, (y1 - y0 + 1) * s);
      }
    },
    // dragVersion: redraw while a stroke goes on
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [shape, tool, mask, dragVersion],
  );

  const onPointer = (kind: 'down' | 'move' | 'up', px: { x: number; y: number }) => {
    if (kind === 'down') {
      work.current = mask.slice();
      drag.current = { x: px.x, y: px.y, cur: px };
      if (tool !== 'box') paint(work.current, px.x, px.y, tool === 'brush' ? 0 : 1);
    } else if (kind === 'move' && drag.current && work.current) {
      drag.current.cur = px;
      if (tool !== 'box') paint(work.current, px.x, px.y, tool === 'brush' ? 0 : 1);
    } else if (kind === 'up' && drag.current && work.current) {
      const d = drag.current;
      const m = work.current;
      drag.current = null;
      work.current = null;
      if (tool === 'box') {
        const nx = shape[1];
        for (let i = Math.min(d.y, px.y); i <= Math.max(d.y, px.y); i++) for (let j = Math.min(d.x, px.x); j <= Math.max(d.x, px.x); j++) m[i * nx + j] = 0;
      }
      void commit(m);
    } else return;
    setDragVersion((v) => v + 1);
  };

  const missing = useMemo(() => mask.reduce((a, v) => a + (v === 0 ? 1 : 0), 0), [mask]);
  return (
    <div className="opform">
      <div className="row">
        <FileButton
          label="Mask FITS…"
          accept=".fits,.fit,.fts,.fz,.gz"
          ariaLabel={`Mask ${index + 1} FITS file`}
          onFiles={async (fs) => {
            const f = fs[0]!;
            const name = await addModelFile(f.name, await readFileBytes(f), 'mask');
            onChange({ type: 'mask', fits: name, ...(op.convention ? { convention: op.convention } : {}) });
          }}
        />
        <span className="filename">{op.fits || 'or paint below'}</span>
      </div>
      {issue('fits') && <small className="err">{issue('fits')}</small>}
      <label className="row">
        The file&apos;s 1s{' '}
        <select
          title="the default reads 1 as observed and warns where the mask looks like PyAutoLens's (1 = masked); 1 = observed, unchecked: no warning"
          aria-label={`Mask ${index + 1} convention`}
          data-testid={`mask-convention-${index}`}
          value={op.convention ?? ''}
          onChange={(ev) => {
            const c = ev.target.value as MaskStageConvention | '';
            const { convention: _old, ...rest } = op;
            onChange(c ? { ...rest, convention: c } : rest);
          }}
        >
          {CONVENTIONS.map(([c, label]) => (
            <option key={c} value={c}>
              {label}
            </option>
          ))}
        </select>
      </label>
      {op.convention === 'auto' && <small className="muted">auto: the painter shows the file as 1 = observed; the model check below says how the run reads it</small>}
      <div className="row tools" role="toolbar" aria-label="Mask painting tools">
        {(['box', 'brush', 'erase'] as Tool[]).map((t) => (
          <button key={t} type="button" className={tool === t ? 'on' : ''} aria-pressed={tool === t} onClick={() => setTool(t)}>
            {t === 'box' ? 'Box' : t === 'brush' ? 'Brush' : 'Eraser'}
          </button>
        ))}
        <label className="inline">
          r <input type="number" min={0} max={50} value={radius} onChange={(e) => setRadius(Math.max(0, Number(e.target.value) || 0))} aria-label="Brush radius" />
        </label>
        <button
          type="button"
          onClick={() => void commit(new Uint8Array(mask.length).fill(1))}
        >
          Clear
        </button>
        <button
          type="button"
          onClick={() => void commit(mask.map((v) => 1 - v))}
        >
          Invert
        </button>
      </div>
      <ImageCanvas data={data} shape={shape} version={dragVersion} title="Mask painter" caption={`${missing} of ${shape[0] * shape[1]} pixels masked (red)`} width={268} overlay={overlay} onPointer={onPointer} testId={`mask-painter-${index}`} />
      <small className="muted">Drag a box or paint over pixels that were not observed (bad columns, satellites, cosmic rays). NaN pixels of the data are masked automatically.</small>
    </div>
  );
}
