// Tables become cards on a phone (styles.css, under 600 px): each cell then shows its column's
// name beside it, which CSS reads from data-label. Rather than every page repeating each header
// on each cell, one observer copies the header text onto the cells of every data table in the
// document whenever rows are rendered (attribute writes are not observed, so it cannot loop).
function label(root: ParentNode): void {
  for (const table of root.querySelectorAll<HTMLTableElement>('.table-wrap table')) {
    const heads = [...table.querySelectorAll('thead th')].map((th) => th.textContent?.trim() ?? '');
    for (const row of table.querySelectorAll('tbody tr')) {
      [...row.children].forEach((cell, i) => {
        const text = heads[i] ?? '';
        if (cell instanceof HTMLElement && cell.dataset.label !== text) cell.dataset.label = text;
      });
    }
  }
}

export function labelTableCells(root: HTMLElement): () => void {
  const observer = new MutationObserver(() => label(root));
  observer.observe(root, { childList: true, subtree: true, characterData: true });
  label(root);
  return () => observer.disconnect();
}
