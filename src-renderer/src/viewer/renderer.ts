/**
 * Drawing an image in a panel. WebGL2 first: the pixels go to the GPU once as float textures (R32F, tiled
 * beyond MAX_TEXTURE_SIZE) and every display change (limits, scale, colour map, pan, zoom) is one draw of a
 * shader that applies limits → scale → LUT (a 256 × 1 RGBA texture) per screen pixel. Without WebGL2 a CPU
 * path renders the image once per display change with the reference renderer of src-shared/image and lets
 * the 2-D canvas transform it for pan and zoom.
 */
import { renderRgba } from '../../../src-shared/image/render';
import { DEFAULT_SCALE_PARAM, scaleCode, type ScaleName } from '../../../src-shared/image/scales';
import { colormapLut, type ColormapName } from '../../../src-shared/image/colormaps';
import type { ViewState } from '../store/images';

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
  setImage(data: Float32Array, width: number, height: number): void;
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

class GlRenderer implements ImageRenderer {
  readonly kind = 'webgl2' as const;
  private prog: WebGLProgram;
  private vao: WebGLVertexArrayObject;
  private tiles: Tile[] = [];
  private lutTex: WebGLTexture;
  private histTex: WebGLTexture;
  private lutKey = '';
  private histTable: Float32Array | null = null;
  private loc: Record<string, WebGLUniformLocation | null> = {};

  constructor(
    private canvas: HTMLCanvasElement,
    private gl: WebGL2RenderingContext,
  ) {
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
    this.lutTex = this.makeTex();
    this.histTex = this.makeTex();
    gl.bindTexture(gl.TEXTURE_2D, this.histTex);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.R32F, 2, 1, 0, gl.RED, gl.FLOAT, new Float32Array([0, 1]));
  }

  private makeTex(): WebGLTexture {
    const gl = this.gl;
    const t = gl.createTexture()!;
    gl.bindTexture(gl.TEXTURE_2D, t);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    return t;
  }

  setImage(data: Float32Array, width: number, height: number): void {
    const gl = this.gl;
    const max = gl.getParameter(gl.MAX_TEXTURE_SIZE) as number;
    // same size: reuse the textures (live previews)
    const same = this.tiles.length > 0 && this.tiles.reduce((a, t) => a + t.w * t.h, 0) === width * height && this.tiles[this.tiles.length - 1].x0 + this.tiles[this.tiles.length - 1].w === width && this.tiles[this.tiles.length - 1].y0 + this.tiles[this.tiles.length - 1].h === height;
    if (!same) {
      for (const t of this.tiles) gl.deleteTexture(t.tex);
      this.tiles = [];
      for (let y0 = 0; y0 < height; y0 += max) for (let x0 = 0; x0 < width; x0 += max) this.tiles.push({ x0, y0, w: Math.min(max, width - x0), h: Math.min(max, height - y0), tex: this.makeTex() });
    }
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
    for (const t of this.tiles) {
      gl.bindTexture(gl.TEXTURE_2D, t.tex);
      gl.pixelStorei(gl.UNPACK_ROW_LENGTH, width);
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
    const gl = this.gl;
    const W = this.canvas.width;
    const H = this.canvas.height;
    gl.viewport(0, 0, W, H);
    gl.clearColor(0, 0, 0, 0);
    gl.clear(gl.COLOR_BUFFER_BIT);
    if (!this.tiles.length) return;
    gl.useProgram(this.prog);
    if (this.lutKey !== s.colormap) {
      gl.bindTexture(gl.TEXTURE_2D, this.lutTex);
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, 256, 1, 0, gl.RGBA, gl.UNSIGNED_BYTE, colormapLut(s.colormap));
      this.lutKey = s.colormap;
    }
    if (s.scale === 'histeq' && s.histeq && s.histeq !== this.histTable) {
      gl.bindTexture(gl.TEXTURE_2D, this.histTex);
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.R32F, s.histeq.length, 1, 0, gl.RED, gl.FLOAT, s.histeq);
      this.histTable = s.histeq;
    }
    const dpr = W / Math.max(1, this.canvas.clientWidth || W);
    gl.activeTexture(gl.TEXTURE1);
    gl.bindTexture(gl.TEXTURE_2D, this.lutTex);
    gl.activeTexture(gl.TEXTURE2);
    gl.bindTexture(gl.TEXTURE_2D, this.histTex);
    gl.uniform1i(this.loc.u_data, 0);
    gl.uniform1i(this.loc.u_lut, 1);
    gl.uniform1i(this.loc.u_histeq, 2);
    gl.uniform1f(this.loc.u_lo, s.lo);
    gl.uniform1f(this.loc.u_hi, s.hi);
    gl.uniform1f(this.loc.u_param, s.scaleParam || DEFAULT_SCALE_PARAM[s.scale]);
    gl.uniform1i(this.loc.u_scale, scaleCode(s.scale));
    gl.uniform1i(this.loc.u_invert, s.invert ? 1 : 0);
    gl.uniform1i(this.loc.u_histn, this.histTable && s.scale === 'histeq' ? this.histTable.length : 2);
    gl.uniform2f(this.loc.u_center, view.cx, view.cy);
    gl.uniform1f(this.loc.u_zoom, view.zoom * dpr);
    gl.uniform2f(this.loc.u_size, W, H);
    gl.bindVertexArray(this.vao);
    gl.activeTexture(gl.TEXTURE0);
    for (const t of this.tiles) {
      gl.bindTexture(gl.TEXTURE_2D, t.tex);
      gl.uniform4f(this.loc.u_rect, t.x0, t.y0, t.w, t.h);
      gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
    }
    gl.bindVertexArray(null);
  }

  dispose(): void {
    const gl = this.gl;
    for (const t of this.tiles) gl.deleteTexture(t.tex);
    this.tiles = [];
    gl.deleteTexture(this.lutTex);
    gl.deleteTexture(this.histTex);
    gl.deleteProgram(this.prog);
    gl.deleteVertexArray(this.vao);
  }
}

class CpuRenderer implements ImageRenderer {
  readonly kind = 'cpu' as const;
  private ctx: CanvasRenderingContext2D;
  private off: HTMLCanvasElement = document.createElement('canvas');
  private data: Float32Array | null = null;
  private w = 0;
  private h = 0;
  private key = '';

  constructor(private canvas: HTMLCanvasElement) {
    this.ctx = canvas.getContext('2d')!;
  }

  setImage(data: Float32Array, width: number, height: number): void {
    this.data = data;
    this.w = width;
    this.h = height;
    this.key = '';
  }

  draw(view: ViewState, s: DrawSettings): void {
    const ctx = this.ctx;
    const W = this.canvas.width;
    const H = this.canvas.height;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, W, H);
    if (!this.data) return;
    const key = `${s.lo}|${s.hi}|${s.scale}|${s.scaleParam}|${s.colormap}|${s.invert}|${s.histeq ? s.histeq.length : 0}`;
    if (key !== this.key) {
      this.off.width = this.w;
      this.off.height = this.h;
      const rgba = renderRgba(this.data, this.w, this.h, { ...s, histeq: s.histeq ?? undefined });
      this.off.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(rgba), this.w, this.h), 0, 0);
      this.key = key;
    }
    const dpr = W / Math.max(1, this.canvas.clientWidth || W);
    const z = view.zoom * dpr;
    ctx.imageSmoothingEnabled = false;
    // image pixel (x, y) centre → device (W/2 + (x − cx)·z, H/2 − (y − cy)·z); the offscreen canvas is already flipped
    ctx.setTransform(z, 0, 0, z, W / 2 - (view.cx + 0.5) * z, H / 2 - (this.h - 0.5 - view.cy) * z);
    ctx.drawImage(this.off, 0, 0);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
  }

  dispose(): void {
    this.data = null;
  }
}

/** Why WebGL2 could not be used (set by the first failed attempt). */
export let webglUnavailableReason: string | null = null;

/** Renderer choice forced by the page URL (?renderer=cpu), for tests and for users with broken GPU drivers. */
export function forcedCpu(): boolean {
  return new URLSearchParams(location.search).get('renderer') === 'cpu';
}

/**
 * A renderer for this canvas: WebGL2 when it works, else the CPU path. When WebGL2 fails after the canvas
 * got a WebGL context, the canvas is replaced by a fresh one (a canvas keeps its first context type).
 */
export function createRenderer(canvas: HTMLCanvasElement): { renderer: ImageRenderer; canvas: HTMLCanvasElement } {
  if (!forcedCpu()) {
    let gl: WebGL2RenderingContext | null = null;
    try {
      gl = canvas.getContext('webgl2', { preserveDrawingBuffer: true, premultipliedAlpha: true, antialias: false });
      if (gl) {
        webglUnavailableReason = null;
        return { renderer: new GlRenderer(canvas, gl), canvas };
      }
      webglUnavailableReason = 'this browser gives no WebGL2 context';
    } catch (e) {
      webglUnavailableReason = `WebGL2 failed (${(e as Error).message})`;
    }
    if (gl) {
      const fresh = document.createElement('canvas');
      fresh.className = canvas.className;
      for (const a of Array.from(canvas.attributes)) fresh.setAttribute(a.name, a.value);
      canvas.replaceWith(fresh);
      canvas = fresh;
    }
  } else webglUnavailableReason = 'CPU rendering was asked for (?renderer=cpu)';
  return { renderer: new CpuRenderer(canvas), canvas };
}
