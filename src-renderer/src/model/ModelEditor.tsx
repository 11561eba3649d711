import { useEffect, useMemo } from 'react';
import { useStore } from '../store/index';
import { defaultStage, OPERATOR_TYPES, stageShapes, type OperatorType, type StageSpec } from '../../../src-shared/operators/forward-model-spec';
import { checkDoc, insertOperator, moveOperator, OPERATOR_LABELS, orderAdvice, physicalOrder, withOperator } from './editing';
import { NumberField, FileButton, Section, Help } from './fields';
import { loadModelJson, previewAx, saveModelJson, scheduleOverlay, setModelDoc } from './actions';
import { DataSection } from './DataSection';
import { PsfForm } from './PsfForm';
import { MaskForm } from './MaskForm';
import { LensForm } from './LensForm';
import { UvForm } from './UvForm';
import { NoiseForm } from './NoiseForm';
import { ImageCanvas } from '../run/ImageCanvas';
import { getPreviewAx } from '../run/previews';

function ValidationLine() {
  const check = useStore((s) => s.modelCheck);
  if (check.state === 'idle') return null;
  if (check.state === 'checking') return <p className="status muted">checking the forward model…</p>;
  if (check.state === 'error')
    return (
      <p className="status err" role="alert" data-testid="model-error">
        {check.error}
      </p>
    );
  const s = check.summary!;
  return (
    <div className="status ok" data-testid="model-ok">
      <p>
        ✓ x [{s.inShape.join('×')}] → y [{s.outShape.join('×')}] · likelihood: {s.gram}
      </p>
      <ul>
        {s.operators.map((o, i) => (
          <li key={i}>
            {i + 1}. {o.detail}
          </li>
        ))}
      </ul>
      {s.warnings.map((w, i) => (
        <p key={i} className="warn">
          ⚠ {w}
        </p>
      ))}
    </div>
  );
}

function PreviewAx() {
  const version = useStore((s) => s.previewAxVersion);
  const state = useStore((s) => s.previewAxState);
  const p = getPreviewAx();
  return (
    <div className="previewax">
      <button type="button" onClick={() => void previewAx()} disabled={state.state === 'checking'} data-testid="preview-ax">
        Preview A x
      </button>
      {state.state === 'error' && <small className="err">{state.error}</small>}
      {p && state.state !== 'error' && (
        <ImageCanvas data={p.data} shape={p.shape} version={version} title="A x" caption={`A x, x = ${p.source}`} stretch="asinh" width={268} testId="preview-ax-image" pngName="preview-Ax.png" />
      )}
    </div>
  );
}

/** The forward-model editor: data, the unknown's grid, the operator chain, the noise, M.json load/save. */
export function ModelEditor() {
  const doc = useStore((s) => s.modelDoc);
  const files = useStore((s) => s.forwardModelFiles);
  const obs = useStore((s) => s.obs);
  const issues = useMemo(() => checkDoc(doc, files.map((f) => f.name), obs?.shape ?? null), [doc, files, obs]);
  const shapes = useMemo(() => stageShapes(doc), [doc]);
  const issueFor = (i: number) => (field: string) => issues.find((x) => x.path === `operators[${i}].${field}`)?.message ?? null;
  const hasLens = doc.operators.some((o) => o.type === 'lens');
  const advice = useMemo(() => orderAdvice(doc), [doc]);
  const dataShape = obs?.shape ?? null;
  // the shape check, live: each stage's input is the previous one's output; the last must be the data's
  const shapeMismatch = (i: number) => {
    if (!dataShape || i !== doc.operators.length - 1) return null;
    const out = shapes[i]!.outShape;
    return out[0] === dataShape[0] && out[1] === dataShape[1] ? null : `≠ data ${dataShape.join('×')}`;
  };

  useEffect(() => {
    doc.operators.forEach((_op, i) => scheduleOverlay(i));
  }, [doc, files]);

  const change = (i: number) => (op: StageSpec) => setModelDoc(withOperator(doc, i, op));

  return (
    <div className="modeleditor">
      <DataSection />
      <Section
        title="Forward model A"
        testId="model-section"
        right={
          <span className="row">
            <FileButton
              label="Load M.json…"
              accept=".json,application/json"
              ariaLabel="Load forward model M.json"
              onFiles={async (fs) => {
                const f = fs[0]!;
                loadModelJson(f.name, await f.text());
              }}
            />
            <button type="button" onClick={saveModelJson}>
              Save M.json
            </button>
          </span>
        }
      >
        <Help>
          y = A x + n. Operators apply in order; each one's output is the next one's input. x is the image the prior describes. A new operator goes where it belongs (lens → PSF → mask, uv sampling last); ↑ ↓ reorder.
        </Help>
        <div className="grid2">
          <NumberField label={hasLens ? 'Source ny' : 'Unknown ny'} integer min={1} max={16384} value={doc.shape[0]} onChange={(v) => setModelDoc({ ...doc, shape: [v, doc.shape[1]] })} issue={issues.find((x) => x.path === 'shape')?.message ?? null} testId="model-ny" />
          <NumberField label={hasLens ? 'Source nx' : 'Unknown nx'} integer min={1} max={16384} value={doc.shape[1]} onChange={(v) => setModelDoc({ ...doc, shape: [doc.shape[0], v] })} testId="model-nx" />
        </div>
        {doc.operators.length === 0 && <p className="muted">No operator: A is the identity (denoising).</p>}
        <ol className="operators">
          {doc.operators.map((op, i) => (
            <li key={i} className="operator" data-testid={`operator-${i}`}>
              <header>
                <strong>
                  {i + 1}. {OPERATOR_LABELS[op.type]}
                </strong>
                <span className={shapeMismatch(i) ? 'err' : 'muted'} data-testid={`operator-shape-${i}`}>
                  {shapes[i]!.inShape.join('×')} → {shapes[i]!.outShape.join('×')}
                  {shapeMismatch(i) ? ` ${shapeMismatch(i)}` : ''}
                </span>
                <span className="spacer" />
                <button type="button" className="mini" aria-label={`Move operator ${i + 1} up`} disabled={i === 0} onClick={() => setModelDoc(moveOperator(doc, i, -1))}>
                  ↑
                </button>
                <button type="button" className="mini" aria-label={`Move operator ${i + 1} down`} disabled={i === doc.operators.length - 1} onClick={() => setModelDoc(moveOperator(doc, i, 1))}>
                  ↓
                </button>
                <button type="button" className="mini" aria-label={`Remove operator ${i + 1}`} onClick={() => setModelDoc({ ...doc, operators: doc.operators.filter((_, k) => k !== i) })}>
                  ✕
                </button>
              </header>
              {op.type === 'psf' && <PsfForm index={i} op={op} issue={issueFor(i)} onChange={change(i)} />}
              {op.type === 'mask' && <MaskForm index={i} op={op} shape={shapes[i]!.inShape} issue={issueFor(i)} onChange={change(i)} />}
              {op.type === 'lens' && <LensForm index={i} op={op} issue={issueFor(i)} onChange={change(i)} />}
              {op.type === 'uv-sampling' && <UvForm index={i} op={op} issue={issueFor(i)} onChange={change(i)} />}
            </li>
          ))}
        </ol>
        {advice && (
          <p className="warn order-advice" data-testid="order-advice">
            ⚠ {advice}{' '}
            <button type="button" className="mini" onClick={() => setModelDoc(physicalOrder(doc))} data-testid="order-fix">
              Reorder
            </button>
          </p>
        )}
        <label className="row">
          Add
          <select
            aria-label="Add an operator"
            value=""
            onChange={(e) => {
              const t = e.target.value as OperatorType;
              // where it belongs in the chain (lens → PSF → mask, uv sampling last), not simply at the end
              if (t) setModelDoc(insertOperator(doc, defaultStage(t, doc.shape)).doc);
            }}
          >
            <option value="">an operator…</option>
            {OPERATOR_TYPES.map((t) => (
              <option key={t} value={t}>
                {OPERATOR_LABELS[t]}
              </option>
            ))}
          </select>
        </label>
        <ValidationLine />
        <PreviewAx />
      </Section>
      <NoiseForm />
    </div>
  );
}
