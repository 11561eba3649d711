export function ImageArea() {
  return (
    <main className="imagearea" aria-label="Images">
      <div className="empty">
        <p>Open a FITS file to begin (File › Open FITS…, or drop it here).</p>
      </div>
    </main>
  );
}
