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
    const v = Number(t);
    if (t.trim() === '' || !Number.isFinite(v)) return setLocal('enter a number');
    if (p.integer && !Number.isInteger(v)) return setLocal('enter a whole number');
    if (p.min !== undefined && v < p.min) return setLocal(`at least ${p.min}`);
    if (p.max !== undefined && v > p.max) return setLocal(`at most ${p.max}`);
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
