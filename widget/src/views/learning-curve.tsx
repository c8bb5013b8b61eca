/**
 * The head's accuracy against labels given, as a small inline SVG (no chart library: a polyline and two
 * axes are the whole need, and it must look right in a notebook cell).
 */
export function LearningCurve({ points, width = 320, height = 140 }: { points: readonly { labels: number; accuracy: number }[]; width?: number; height?: number }) {
  if (points.length < 2) return <p className="qs-muted">The learning curve appears after a few dozen labels (with embeddings).</p>;
  const margin = { left: 34, right: 8, top: 8, bottom: 22 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const maxLabels = Math.max(...points.map((p) => p.labels));
  const minLabels = Math.min(...points.map((p) => p.labels));
  const x = (labels: number) => margin.left + ((labels - minLabels) / Math.max(1, maxLabels - minLabels)) * plotWidth;
  const y = (accuracy: number) => margin.top + (1 - accuracy) * plotHeight;
  const path = points.map((p) => `${x(p.labels).toFixed(1)},${y(p.accuracy).toFixed(1)}`).join(' ');
  const first = points[0]!;
  const last = points[points.length - 1]!;
  const label = `Learning curve: accuracy ${Math.round(first.accuracy * 100)}% at ${first.labels} labels, ${Math.round(last.accuracy * 100)}% at ${last.labels} labels`;
  return (
    <svg className="qs-curve" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label}>
      {[0, 0.5, 1].map((tick) => (
        <g key={tick}>
          <line x1={margin.left} x2={width - margin.right} y1={y(tick)} y2={y(tick)} className="qs-curve-grid" />
          <text x={margin.left - 4} y={y(tick) + 4} textAnchor="end" className="qs-curve-text">
            {tick * 100}%
          </text>
        </g>
      ))}
      <text x={margin.left} y={height - 6} className="qs-curve-text">
        {minLabels}
      </text>
      <text x={width - margin.right} y={height - 6} textAnchor="end" className="qs-curve-text">
        {maxLabels} labels
      </text>
      <polyline points={path} className="qs-curve-line" fill="none" />
      <circle cx={x(last.labels)} cy={y(last.accuracy)} r={3} className="qs-curve-dot" />
    </svg>
  );
}
