/**
 * Drawing an image in a panel. WebGL2 first: the pixels go to the GPU once as float textures (R32F, tiled
 * beyond MAX_TEXTURE_SIZE) and every display change (limits, scale, colour map, pan, zoom) is one draw of a
 * shader that applies limits → scale → LUT (a 256 × 1 RGBA texture) per screen pixel. All panels share one
 * WebGL2 context; each draw is copied onto the panel's own canvas. Without WebGL2 a CPU
 * path renders the image once per display change with the reference renderer of src-shared/image and lets
 * the 2-D canvas transform it for pan and zoom.
 */
import { renderRgba, renderView } from '../../../src-shared/image/render';
import { buildPyramid, type PyramidLevel } from '../../../src-shared/image/decimate';
import { DEFAULT_SCALE_PARAM, scaleCode, type ScaleName } from '../../../src-shared/image/scales';
import { colormapLut, COLORMAP_NAMES, type ColormapName } from '../../../src-shared/image/colormaps';
import type { ViewState } from '../store/images';
import { context2d } from '../canvas2d';

export interface DrawSettings {
  lo: number;
  hi: number;
  scale: ScaleName;
  scaleParam: number;
  colormap: ColormapName;
  invert: boolean;
  histeq: Float32Array | null;
}

export interface ImageRenderer {
  readonly kind: 'webgl2' | 'cpu';
  /** The pixels to draw; `levels`: their block-mean pyramid where it was built already (the CPU path uses it). */
  setImage(data: Float32Array, width: number, height: number, levels?: PyramidLevel[] | null): void;
  draw(view: ViewState, s: DrawSettings): void;
  dispose(): void;
}

const VS = `#version 300 es
in vec2 a_unit;
uniform vec4 u_rect;      // tile x0, y0, w, h (image pixels)
uniform vec2 u_center;    // image pixel at the canvas centre
uniform float u_zoom;     // device pixels per image pixel
uniform vec2 u_size;      // canvas size, device pixels
out vec2 v_tc;
void main() {
  vec2 p = u_rect.xy - 0.5 + a_unit * u_rect.zw;
  vec2 s = (p - u_center) * u_zoom;
  gl_Position = vec4(2.0 * s / u_size, 0.0, 1.0);
  v_tc = a_unit;
}`;

const FS = `#version 300 es
precision highp float;
precision highp int;
uniform highp sampler2D u_data;
uniform highp sampler2D u_lut;
uniform highp sampler2D u_histeq;
uniform float u_lo;
uniform float u_hi;
uniform float u_param;
uniform int u_scale;
uniform int u_invert;
uniform int u_histn;
in vec2 v_tc;
out vec4 o;
float asinh_(float x) { return log(x + sqrt(x * x + 1.0)); }
void main() {
  float v = texture(u_data, v_tc).r;
  if (isnan(v) || isinf(v)) { o = vec4(0.0); return; }
  float t = clamp((v - u_lo) / (u_hi - u_lo), 0.0, 1.0);
  float y = t;
  if (u_scale == 1) y = log(u_param * t + 1.0) / log(u_param + 1.0);
  else if (u_scale == 2) y = sqrt(t);
  else if (u_scale == 3) y = asinh_(u_param * t) / asinh_(u_param);
  else if (u_scale == 4) y = (pow(u_param, t) - 1.0) / (u_param - 1.0);
  else if (u_scale == 5) {
    float r = t * float(u_histn - 1);
    int i = min(int(floor(r)), u_histn - 2);
    float f = r - float(i);
    float a = texelFetch(u_histeq, ivec2(i, 0), 0).r;
    float b = texelFetch(u_histeq, ivec2(i + 1, 0), 0).r;
    y = mix(a, b, f);
  }
  int k = clamp(int(floor(y * 256.0)), 0, 255);
  if (u_invert == 1) k = 255 - k;
  o = texelFetch(u_lut, ivec2(k, 0), 0);
}`;

interface Tile {
  x0: number;
  y0: number;
  w: number;
  h: number;
  tex: WebGLTexture;
}

/**
 * One WebGL2 context for every panel (browsers keep only ~16 contexts alive, and each costs a shader compile):
 * a panel's image lives in textures of this context; a draw renders into the shared canvas and copies the
 * result onto the panel's own 2-D canvas in the same task.
 */
class SharedGl {
  readonly canvas: HTMLCanvasElement;
  readonly gl: WebGL2RenderingContext;
  readonly prog: WebGLProgram;
  readonly vao: WebGLVertexArrayObject;
  readonly loc: Record<string, WebGLUniformLocation | null> = {};
  readonly maxTexture: number;
  private luts = new Map<string, WebGLTexture>();
  private rendererName: string | null = null;
  lost = false;

  /** The GL implementation's name, asked once (the query is slow on software GL, and every new panel needs it). */
  get name(): string {
    if (this.rendererName === null) this.rendererName = glRendererName(this.gl);
    return this.rendererName;
  }

  constructor() {
    this.canvas = document.createElement('canvas');
    const gl = this.canvas.getContext('webgl2', { preserveDrawingBuffer: false, premultipliedAlpha: true, antialias: false, alpha: true });
    if (!gl) throw new Error('this browser gives no WebGL2 context');
    this.gl = gl;
    this.canvas.addEventListener('webglcontextlost', (e) => {
      e.preventDefault();
      this.lost = true;
    });
    const compile = (type: number, src: string) => {
      const sh = gl.createShader(type)!;
      gl.shaderSource(sh, src);
      gl.compileShader(sh);
      if (!gl.getShaderParameter(sh, gl.COMPILE_STATUS)) throw new Error(`shader: ${gl.getShaderInfoLog(sh)}`);
      return sh;
    };
    const prog = gl.createProgram()!;
    gl.attachShader(prog, compile(gl.VERTEX_SHADER, VS));
    gl.attachShader(prog, compile(gl.FRAGMENT_SHADER, FS));
    gl.linkProgram(prog);
    if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) throw new Error(`program: ${gl.getProgramInfoLog(prog)}`);
    this.prog = prog;
    for (const n of ['u_rect', 'u_center', 'u_zoom', 'u_size', 'u_data', 'u_lut', 'u_histeq', 'u_lo', 'u_hi', 'u_param', 'u_scale', 'u_invert', 'u_histn']) this.loc[n] = gl.getUniformLocation(prog, n);
    this.vao = gl.createVertexArray()!;
    gl.bindVertexArray(this.vao);
    const buf = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, buf);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([0, 0, 1, 0, 0, 1, 1, 1]), gl.STATIC_DRAW);
    const aLoc = gl.getAttribLocation(prog, 'a_unit');
    gl.enableVertexAttribArray(aLoc);
    gl.vertexAttribPointer(aLoc, 2, gl.FLOAT, false, 0, 0);
    gl.bindVertexArray(null);
    this.maxTexture = gl.getParameter(gl.MAX_TEXTURE_SIZE) as number;
  }

  makeTex(): WebGLTexture {
    const gl = this.gl;
    const t = gl.createTexture()!;
    gl.bindTexture(gl.TEXTURE_2D, t);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    return t;
  }

  lut(name: ColormapName): WebGLTexture {
    let t = this.luts.get(name);
    if (!t) {
      const gl = this.gl;
      t = this.makeTex();
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, 256, 1, 0, gl.RGBA, gl.UNSIGNED_BYTE, colormapLut(name));
      this.luts.set(name, t);
    }
    return t;
  }

  /** Makes the shared canvas at least w × h device pixels (it only grows, so panels do not fight over it). */
  fit(w: number, h: number) {
    if (this.canvas.width < w || this.canvas.height < h) {
      this.canvas.width = Math.max(this.canvas.width, w);
      this.canvas.height = Math.max(this.canvas.height, h);
    }
  }
}

let shared: SharedGl | null = null;

class GlRenderer implements ImageRenderer {
  readonly kind = 'webgl2' as const;
  private tiles: Tile[] = [];
  private histTex: WebGLTexture;
  private histTable: Float32Array | null = null;
  private ctx: CanvasRenderingContext2D;

  constructor(
    private canvas: HTMLCanvasElement,
    private g: SharedGl,
  ) {
    this.ctx = canvas.getContext('2d')!;
    const gl = g.gl;
    this.histTex = g.makeTex();
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.R32F, 2, 1, 0, gl.RED, gl.FLOAT, new Float32Array([0, 1]));
  }

  setImage(data: Float32Array, width: number, height: number): void {
    const { gl, maxTexture: max } = this.g;
    const last = this.tiles[this.tiles.length - 1];
    // same size: reuse the textures (live previews)
    const same = !!last && last.x0 + last.w === width && last.y0 + last.h === height;
    if (!same) {
      for (const t of this.tiles) gl.deleteTexture(t.tex);
      this.tiles = [];
      for (let y0 = 0; y0 < height; y0 += max) for (let x0 = 0; x0 < width; x0 += max) this.tiles.push({ x0, y0, w: Math.min(max, width - x0), h: Math.min(max, height - y0), tex: this.g.makeTex() });
    }
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
    gl.pixelStorei(gl.UNPACK_ROW_LENGTH, width);
    for (const t of this.tiles) {
      gl.bindTexture(gl.TEXTURE_2D, t.tex);
      gl.pixelStorei(gl.UNPACK_SKIP_PIXELS, t.x0);
      gl.pixelStorei(gl.UNPACK_SKIP_ROWS, t.y0);
      if (same) gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, t.w, t.h, gl.RED, gl.FLOAT, data);
      else gl.texImage2D(gl.TEXTURE_2D, 0, gl.R32F, t.w, t.h, 0, gl.RED, gl.FLOAT, data);
    }
    gl.pixelStorei(gl.UNPACK_ROW_LENGTH, 0);
    gl.pixelStorei(gl.UNPACK_SKIP_PIXELS, 0);
    gl.pixelStorei(gl.UNPACK_SKIP_ROWS, 0);
  }

  draw(view: ViewState, s: DrawSettings): void {
    const g = this.g;
    const gl = g.gl;
    const W = this.canvas.width;
    const H = this.canvas.height;
    this.ctx.clearRect(0, 0, W, H);
    if (!this.tiles.length || g.lost) return;
    g.fit(W, H);
    gl.viewport(0, 0, W, H);
    gl.disable(gl.SCISSOR_TEST);
    gl.clearColor(0, 0, 0, 0);
    gl.clear(gl.COLOR_BUFFER_BIT);
    gl.useProgram(g.prog);
    if (s.scale === 'histeq' && s.histeq && s.histeq !== this.histTable) {
      gl.bindTexture(gl.TEXTURE_2D, this.histTex);
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.R32F, s.histeq.length, 1, 0, gl.RED, gl.FLOAT, s.histeq);
      this.histTable = s.histeq;
    }
    const dpr = W / Math.max(1, this.canvas.clientWidth || W);
    gl.activeTexture(gl.TEXTURE1);
    gl.bindTexture(gl.TEXTURE_2D, g.lut(s.colormap));
    gl.activeTexture(gl.TEXTURE2);
    gl.bindTexture(gl.TEXTURE_2D, this.histTex);
    gl.uniform1i(g.loc.u_data, 0);
    gl.uniform1i(g.loc.u_lut, 1);
    gl.uniform1i(g.loc.u_histeq, 2);
    gl.uniform1f(g.loc.u_lo, s.lo);
    gl.uniform1f(g.loc.u_hi, s.hi);
    gl.uniform1f(g.loc.u_param, s.scaleParam || DEFAULT_SCALE_PARAM[s.scale]);
    gl.uniform1i(g.loc.u_scale, scaleCode(s.scale));
    gl.uniform1i(g.loc.u_invert, s.invert ? 1 : 0);
    gl.uniform1i(g.loc.u_histn, this.histTable && s.scale === 'histeq' ? this.histTable.length : 2);
    gl.uniform2f(g.loc.u_center, view.cx, view.cy);
    gl.uniform1f(g.loc.u_zoom, view.zoom * dpr);
    gl.uniform2f(g.loc.u_size, W, H);
    gl.bindVertexArray(g.vao);
    gl.activeTexture(gl.TEXTURE0);
    for (const t of this.tiles) {
      gl.bindTexture(gl.TEXTURE_2D, t.tex);
      gl.uniform4f(g.loc.u_rect, t.x0, t.y0, t.w, t.h);
      gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
    }
    gl.bindVertexArray(null);
    // the viewport is the bottom-left W × H of the shared canvas: its top in canvas coordinates is (height − H)
    this.ctx.drawImage(g.canvas, 0, g.canvas.height - H, W, H, 0, 0, W, H);
  }

  dispose(): void {
    const gl = this.g.gl;
    for (const t of this.tiles) gl.deleteTexture(t.tex);
    this.tiles = [];
    gl.deleteTexture(this.histTex);
  }
}

/**
 * The CPU path. An image with no more pixels than the canvas is coloured once per display change and moved by
 * the canvas transform; a larger one is drawn at the canvas's resolution on every change (renderView: one
 * colour lookup per canvas pixel, from the block-mean level that fits the zoom), so a 4096² image costs what
 * the canvas costs, not 16.7 M lookups.
 */
class CpuRenderer implements ImageRenderer {
  readonly kind = 'cpu' as const;
  private ctx: CanvasRenderingContext2D;
  private off: HTMLCanvasElement = document.createElement('canvas');
  private data: Float32Array | null = null;
  private levels: PyramidLevel[] | null = null;
  private w = 0;
  private h = 0;
  private key = '';
  private frame: ImageData | null = null;

  constructor(private canvas: HTMLCanvasElement) {
    this.ctx = context2d(canvas)!;
  }

  setImage(data: Float32Array, width: number, height: number, levels?: PyramidLevel[] | null): void {
    this.data = data;
    this.w = width;
    this.h = height;
    this.levels = levels ?? null;
    this.key = '';
  }

  draw(view: ViewState, s: DrawSettings): void {
    const ctx = this.ctx;
    const W = this.canvas.width;
    const H = this.canvas.height;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    if (!this.data) return ctx.clearRect(0, 0, W, H);
    const dpr = W / Math.max(1, this.canvas.clientWidth || W);
    const z = view.zoom * dpr;
    const settings = { ...s, histeq: s.histeq ?? undefined };
    if (this.w * this.h > W * H) {
      const levels = (this.levels ??= buildPyramid(this.data, this.w, this.h));
      if (!this.frame || this.frame.width !== W || this.frame.height !== H) this.frame = new ImageData(W, H);
      renderView({ data: this.data, width: this.w, height: this.h }, levels, { cx: view.cx, cy: view.cy, zoom: z }, W, H, settings, this.frame.data);
      ctx.putImageData(this.frame, 0, 0);
      return;
    }
    this.frame = null;
    ctx.clearRect(0, 0, W, H);
    const key = `${s.lo}|${s.hi}|${s.scale}|${s.scaleParam}|${s.colormap}|${s.invert}|${s.histeq ? s.histeq.length : 0}`;
    if (key !== this.key) {
      this.off.width = this.w;
      this.off.height = this.h;
      const rgba = renderRgba(this.data, this.w, this.h, settings);
      context2d(this.off)!.putImageData(new ImageData(new Uint8ClampedArray(rgba), this.w, this.h), 0, 0);
      this.key = key;
    }
    ctx.imageSmoothingEnabled = false;
    // image pixel (x, y) centre → device (W/2 + (x − cx)·z, H/2 − (y − cy)·z); the offscreen canvas is already flipped
    ctx.setTransform(z, 0, 0, z, W / 2 - (view.cx + 0.5) * z, H / 2 - (this.h - 0.5 - view.cy) * z);
    ctx.drawImage(this.off, 0, 0);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
  }

  dispose(): void {
    this.data = null;
    this.levels = null;
    this.frame = null;
  }
}

export type RendererChoice = 'auto' | 'webgl' | 'cpu';

/** The renderer asked for in the page URL (?renderer=cpu|webgl|auto), for tests and broken GPU drivers. */
export function rendererChoice(): RendererChoice {
  const r = new URLSearchParams(location.search).get('renderer');
  return r === 'cpu' || r === 'webgl' ? r : 'auto';
}

/** The GL implementation's name where the browser tells it (e.g. "ANGLE (…SwiftShader…)"), else ''. */
function glRendererName(gl: WebGL2RenderingContext): string {
  const ext = gl.getExtension('WEBGL_debug_renderer_info');
  return String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER) ?? '');
}

let warmed = false;
/** The colour maps' tables, built while the page is idle (one each, a few ms), not when a run's first preview opens its panels. */
function warmColormaps(): void {
  if (warmed) return;
  warmed = true;
  const names = [...COLORMAP_NAMES];
  const next = (): void => {
    const name = names.shift();
    if (!name) return;
    colormapLut(name);
    idle(next);
  };
  idle(next);
}
const idle = (f: () => void): void => void (typeof requestIdleCallback === 'function' ? requestIdleCallback(f, { timeout: 2000 }) : setTimeout(f, 50));

/**
 * The shared GL context, its shaders and its renderer's name, made while the page is idle after it loads: the
 * first image opened then does not wait for them (on a software GL that is ~0.1 s of the UI thread).
 */
export function warmRenderer(): void {
  if (typeof document === 'undefined' || rendererChoice() === 'cpu') return;
  idle(() => {
    try {
      if (!shared || shared.lost) shared = new SharedGl();
      void shared.name;
    } catch {
      /* no WebGL2: createRenderer says so when a panel opens */
    }
  });
}

/** What the viewer uses, and why (shown to the user when it is not the GPU). */
export let rendererStatus: { kind: 'webgl2' | 'cpu'; note: string | null } | null = null;

/**
 * A renderer for this panel canvas. 'auto': WebGL2 on a hardware GL; on a software GL (SwiftShader, llvmpipe)
 * the CPU path instead — it is faster there (no read-back of every frame) and keeps the UI thread free.
 */
export function createRenderer(canvas: HTMLCanvasElement): { renderer: ImageRenderer; canvas: HTMLCanvasElement } {
  warmColormaps();
  const choice = rendererChoice();
  let note: string;
  if (choice === 'cpu') note = 'Drawing on the CPU (asked for with ?renderer=cpu).';
  else {
    try {
      if (!shared || shared.lost) shared = new SharedGl();
      const name = shared.name;
      if (choice === 'auto' && /swiftshader|llvmpipe|softpipe|software/i.test(name)) {
        const soft = /swiftshader|llvmpipe|softpipe/i.exec(name)?.[0] ?? 'software';
        note = `No GPU: WebGL2 here is a software rasteriser (${soft}), so images are drawn on the CPU, which is faster on this machine (?renderer=webgl forces WebGL2).`;
      } else {
        rendererStatus = { kind: 'webgl2', note: null };
        return { renderer: new GlRenderer(canvas, shared), canvas };
      }
    } catch (e) {
      note = `WebGL2 unavailable (${(e as Error).message}): images are drawn on the CPU (slower).`;
    }
  }
  rendererStatus = { kind: 'cpu', note };
  return { renderer: new CpuRenderer(canvas), canvas };
}
