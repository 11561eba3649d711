import { useEffect, useId, useRef, useState, type ReactNode } from 'react';

export interface NumberFieldProps {
  label: string;
  value: number | null;
  onChange(v: number): void;
  min?: number;
  max?: number;
  step?: number;
  integer?: boolean;
  unit?: string;
  help?: string;
  issue?: string | null;
  testId?: string;
  disabled?: boolean;
  /** The field may be left empty (`onClear`), showing `placeholder` (e.g. the value that then applies). */
  onClear?(): void;
  placeholder?: string;
}

/** A value with its unit as the field shows it: "3 px", "1.1″" (symbols without a space). */
export function withUnit(v: string, unit?: string): string {
  if (!unit) return v;
  return /^[″′°%]/.test(unit) ? `${v}${unit}` : `${v} ${unit}`;
}

/**
 * Why a typed value is refused, in the field's own words and units ("FWHM must be > 0 px"), or null. A lower
 * bound that only stands for "positive" (Number.MIN_VALUE, or a tiny one such as 1e-6) reads as "> 0".
 */
export function numberProblem(text: string, p: Pick<NumberFieldProps, 'label' | 'min' | 'max' | 'integer' | 'unit'>): string | null {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v)) return `${p.label}: enter a number${p.unit ? ` (${p.unit})` : ''}`;
  if (p.integer && !Number.isInteger(v)) return `${p.label} must be a whole number`;
  if (p.min !== undefined && v < p.min) {
    const positive = p.min > 0 && p.min <= 1e-6;
    return positive ? `${p.label} must be > ${withUnit('0', p.unit)}` : `${p.label} must be at least ${withUnit(String(p.min), p.unit)}`;
  }
  if (p.max !== undefined && v > p.max) return `${p.label} must be at most ${withUnit(String(p.max), p.unit)}`;
  return null;
}

/**
 * A number input that keeps what the user types until it is a valid number (so "0." or "-" do not jump),
 * commits valid values at once, and shows the reason a value is refused.
 */
export function NumberField(p: NumberFieldProps) {
  const id = useId();
  const [text, setText] = useState(p.value === null ? '' : String(p.value));
  const [local, setLocal] = useState<string | null>(null);
  const committed = useRef(p.value);
  useEffect(() => {
    if (p.value !== committed.current) {
      committed.current = p.value;
      setText(p.value === null ? '' : String(p.value));
      setLocal(null);
    }
  }, [p.value]);
  const onText = (t: string) => {
    setText(t);
    if (p.onClear && t.trim() === '') {
      setLocal(null);
      committed.current = null;
      p.onClear();
      return;
    }
    const v = Number(t);
    const bad = numberProblem(t, p);
    if (bad) return setLocal(bad);
    setLocal(null);
    committed.current = v;
    p.onChange(v);
  };
  const problem = local ?? p.issue ?? null;
  return (
    <div className={`field ${problem ? 'bad' : ''}`}>
      <label htmlFor={id} title={p.help}>
        {p.label}
        {p.unit && <span className="unit"> ({p.unit})</span>}
      </label>
      <input
        id={id}
        type="text"
        inputMode="decimal"
        value={text}
        placeholder={p.placeholder}
        disabled={p.disabled}
        data-testid={p.testId}
        aria-invalid={problem ? true : undefined}
        aria-describedby={p.help || problem ? `${id}-h` : undefined}
        onChange={(e) => onText(e.target.value)}
        onBlur={() => local && p.value !== null && (setText(String(p.value)), setLocal(null))}
      />
      {(problem || p.help) && (
        <small id={`${id}-h`} className={problem ? 'err' : 'muted'}>
          {problem ?? p.help}
        </small>
      )}
    </div>
  );
}

export interface FileButtonProps {
  label: string;
  accept?: string;
  multiple?: boolean;
  directory?: boolean;
  onFiles(files: File[]): void;
  testId?: string;
  ariaLabel?: string;
  disabled?: boolean;
}

/** A button that opens the file dialog (an <input type=file> behind it, which tests can fill). */
export function FileButton(p: FileButtonProps) {
  const ref = useRef<HTMLInputElement>(null);
  const dirProps = p.directory ? ({ webkitdirectory: '', directory: '' } as Record<string, string>) : {};
  return (
    <span className="filebutton">
      <button type="button" disabled={p.disabled} onClick={() => ref.current?.click()}>
        {p.label}
      </button>
      <input
        ref={ref}
        type="file"
        hidden
        accept={p.accept}
        multiple={p.multiple}
        aria-label={p.ariaLabel ?? p.label}
        data-testid={p.testId}
        {...dirProps}
        onChange={(e) => {
          const files = Array.from(e.target.files ?? []);
          e.target.value = '';
          if (files.length) p.onFiles(files);
        }}
      />
    </span>
  );
}

export function Section(p: { title: string; children: ReactNode; right?: ReactNode; testId?: string }) {
  return (
    <section className="section" data-testid={p.testId}>
      <header>
        <h3>{p.title}</h3>
        {p.right}
      </header>
      {p.children}
    </section>
  );
}

export function Help({ children }: { children: ReactNode }) {
  return <p className="help">{children}</p>;
}
