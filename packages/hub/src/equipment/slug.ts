// Slugs name areas and lines in topics and URLs (the unified namespace uses them): lower-case
// ASCII letters, digits and single dashes, from a name a person typed ("Hall 2 — Press line" →
// "hall-2-press-line"). Accents fold to their letter; anything else becomes a dash.
export function slugify(name: string): string {
  const s = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48)
    .replace(/-+$/g, '');
  return s === '' ? 'unnamed' : s;
}
