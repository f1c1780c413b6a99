// ANSI colours in agent output (SGR escape sequences) as styled runs of text.
// Only "ESC [ ... m" is rendered: 16 colours, 256 colours, 24-bit colours, bold, dim,
// italic, underline, inverse; every other escape sequence (cursor moves, erase) is
// dropped. The text stays text: runs become spans through textContent, never HTML.

const ESC = String.fromCharCode(27);
const BEL = String.fromCharCode(7);
// ESC [ params final  |  ESC ] ... BEL or ESC \ (titles, links)  |  a lone two-byte ESC sequence
const ESCAPES = new RegExp(
  `${ESC}\\[([0-9;:?]*)([@-~])|${ESC}\\][^${BEL}${ESC}]*(?:${BEL}|${ESC}\\\\)?|${ESC}[@-Z\\\\-_]?`,
  'g',
);

const BASIC = ['black', 'red', 'green', 'yellow', 'blue', 'magenta', 'cyan', 'white'];

/** The text without any escape sequence (what search matches). */
export function plain(text) {
  return text.includes(ESC) ? text.replace(ESCAPES, '') : text;
}

/**
 * The runs of a line: [{text, classes: [...], color, background}] in order. `classes`
 * name the 16 colours and the attributes (ansi-red, ansi-bright-red-bg, ansi-bold...);
 * `color` / `background` hold a 256-colour or 24-bit colour as CSS rgb().
 */
export function runs(text) {
  if (!text.includes(ESC)) return [{ text, classes: [], color: null, background: null }];
  const out = [];
  const state = blank();
  let last = 0;
  ESCAPES.lastIndex = 0;
  for (let m = ESCAPES.exec(text); m !== null; m = ESCAPES.exec(text)) {
    if (m.index > last) out.push(run(text.slice(last, m.index), state));
    if (m[2] === 'm') apply(state, m[1]);
    last = ESCAPES.lastIndex;
  }
  if (last < text.length) out.push(run(text.slice(last), state));
  return out;
}

function blank() {
  return { fg: null, bg: null, color: null, background: null, attrs: new Set() };
}

function run(text, state) {
  const classes = [...state.attrs];
  if (state.fg) classes.push(`ansi-${state.fg}`);
  if (state.bg) classes.push(`ansi-${state.bg}-bg`);
  return { text, classes, color: state.color, background: state.background };
}

const ATTRS = {
  1: 'ansi-bold',
  2: 'ansi-dim',
  3: 'ansi-italic',
  4: 'ansi-underline',
  7: 'ansi-inverse',
};
const ATTRS_OFF = {
  22: ['ansi-bold', 'ansi-dim'],
  23: ['ansi-italic'],
  24: ['ansi-underline'],
  27: ['ansi-inverse'],
};

/** Applies one SGR parameter list ("1;31", "38;5;208", "" for reset) to the state. */
function apply(state, params) {
  const codes = params === '' ? [0] : params.split(/[;:]/).map((p) => Number(p) || 0);
  for (let i = 0; i < codes.length; i += 1) {
    const code = codes[i];
    if (code === 0) Object.assign(state, blank());
    else if (ATTRS[code]) state.attrs.add(ATTRS[code]);
    else if (ATTRS_OFF[code]) for (const a of ATTRS_OFF[code]) state.attrs.delete(a);
    else if (code >= 30 && code <= 37) [state.fg, state.color] = [BASIC[code - 30], null];
    else if (code >= 90 && code <= 97)
      [state.fg, state.color] = [`bright-${BASIC[code - 90]}`, null];
    else if (code >= 40 && code <= 47) [state.bg, state.background] = [BASIC[code - 40], null];
    else if (code >= 100 && code <= 107)
      [state.bg, state.background] = [`bright-${BASIC[code - 100]}`, null];
    else if (code === 39) [state.fg, state.color] = [null, null];
    else if (code === 49) [state.bg, state.background] = [null, null];
    else if (code === 38 || code === 48) {
      const [css, used] = extended(codes, i + 1);
      i += used;
      if (code === 38) [state.fg, state.color] = [null, css];
      else [state.bg, state.background] = [null, css];
    }
  }
}

/** A 256-colour (5;n) or 24-bit (2;r;g;b) colour at codes[from]: [css or null, codes used]. */
function extended(codes, from) {
  if (codes[from] === 5 && from + 1 < codes.length) return [xterm(codes[from + 1]), 2];
  if (codes[from] === 2 && from + 3 < codes.length) {
    const [r, g, b] = codes.slice(from + 1, from + 4).map((v) => Math.min(255, v));
    return [`rgb(${r}, ${g}, ${b})`, 4];
  }
  return [null, 0];
}

const XTERM16 = [
  [0, 0, 0],
  [205, 49, 49],
  [13, 188, 121],
  [229, 229, 16],
  [36, 114, 200],
  [188, 63, 188],
  [17, 168, 205],
  [229, 229, 229],
  [102, 102, 102],
  [241, 76, 76],
  [35, 209, 139],
  [245, 245, 67],
  [59, 142, 234],
  [214, 112, 214],
  [41, 184, 219],
  [255, 255, 255],
];

/** The CSS colour of xterm's colour n (0-255). */
export function xterm(n) {
  const i = Math.max(0, Math.min(255, n | 0));
  let rgb;
  if (i < 16) rgb = XTERM16[i];
  else if (i < 232) {
    const steps = [0, 95, 135, 175, 215, 255];
    const k = i - 16;
    rgb = [steps[Math.floor(k / 36)], steps[Math.floor(k / 6) % 6], steps[k % 6]];
  } else {
    const v = 8 + (i - 232) * 10;
    rgb = [v, v, v];
  }
  return `rgb(${rgb[0]}, ${rgb[1]}, ${rgb[2]})`;
}
