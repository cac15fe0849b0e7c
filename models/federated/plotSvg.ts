/** One line of a chart: points (x, y), a colour and whether it is dashed. */
export interface Series {
  label: string;
  points: Array<[number, number]>;
  color: string;
  dashed?: boolean;
}

/** One panel of {@link plotSvg}. */
export interface Panel {
  title: string;
  yLabel: string;
  series: Series[];
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * A small dependency-free line chart: panels side by side, shared x axis label, linear axes with
 * five ticks, a legend per panel. Enough for the simulation's quality-and-ε-per-round figure.
 */
export function plotSvg(panels: Panel[], xLabel: string, title: string): string {
  const pw = 460,
    ph = 300,
    ml = 64,
    mr = 16,
    mt = 48,
    mb = 48;
  const width = panels.length * (pw + ml + mr);
  const height = ph + mt + mb + 20;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="14">${esc(title)}</text>`,
  ];
  panels.forEach((p, i) => {
    const x0 = i * (pw + ml + mr) + ml;
    const pts = p.series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y));
    if (pts.length === 0) return;
    let [xmin, xmax] = [Math.min(...pts.map((q) => q[0])), Math.max(...pts.map((q) => q[0]))];
    let [ymin, ymax] = [Math.min(...pts.map((q) => q[1])), Math.max(...pts.map((q) => q[1]))];
    if (xmax === xmin) xmax = xmin + 1;
    const pad = (ymax - ymin) * 0.08 || Math.abs(ymax) * 0.1 || 1;
    ymin -= pad;
    ymax += pad;
    const sx = (x: number): number => x0 + ((x - xmin) / (xmax - xmin)) * pw;
    const sy = (y: number): number => mt + ph - ((y - ymin) / (ymax - ymin)) * ph;
    out.push(`<text x="${x0 + pw / 2}" y="${mt - 12}" text-anchor="middle" font-size="13">${esc(p.title)}</text>`);
    out.push(`<rect x="${x0}" y="${mt}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
    for (let t = 0; t <= 4; t++) {
      const yv = ymin + ((ymax - ymin) * t) / 4;
      const xv = xmin + ((xmax - xmin) * t) / 4;
      out.push(`<line x1="${x0}" x2="${x0 + pw}" y1="${sy(yv)}" y2="${sy(yv)}" stroke="#eee"/>`);
      out.push(`<text x="${x0 - 6}" y="${sy(yv) + 4}" text-anchor="end">${yv.toPrecision(3)}</text>`);
      out.push(`<text x="${sx(xv)}" y="${mt + ph + 16}" text-anchor="middle">${Math.round(xv)}</text>`);
    }
    out.push(`<text x="${x0 + pw / 2}" y="${mt + ph + 34}" text-anchor="middle">${esc(xLabel)}</text>`);
    out.push(`<text transform="translate(${x0 - 48},${mt + ph / 2}) rotate(-90)" text-anchor="middle">${esc(p.yLabel)}</text>`);
    p.series.forEach((s, j) => {
      const d = s.points
        .filter(([, y]) => Number.isFinite(y))
        .map(([x, y], k) => `${k ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`)
        .join('');
      out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6,4"' : ''}/>`);
      const ly = mt + 14 + j * 16;
      out.push(
        `<line x1="${x0 + 10}" x2="${x0 + 34}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6,4"' : ''}/>`,
      );
      out.push(`<text x="${x0 + 40}" y="${ly}">${esc(s.label)}</text>`);
    });
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
