/**
 * A slide deck from a PDF (pdf.js) or a set of images, rendered one slide at a time, letterboxed, into
 * `canvas` at the take's size. The compositor copies that canvas into the recording, and the UI shows it
 * full-window. Navigation changes `index` at once (and notifies); the canvas keeps the previous slide
 * until the new one is fully drawn, so a recording never shows a half-rendered page.
 */
import * as pdfjs from 'pdfjs-dist';
import workerUrl from 'pdfjs-dist/build/pdf.worker.min.mjs?url';

pdfjs.GlobalWorkerOptions.workerSrc = workerUrl;

/** Draws slide `i` into a fresh canvas of about `w`×`h`, or throws. */
type SlideRenderer = (
  i: number,
  w: number,
  h: number,
) => Promise<CanvasImageSource & { width: number; height: number }>;

export class SlideError extends Error {
  override name = 'SlideError';
}

const NAME_COLLATOR = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

export class SlideDeck {
  readonly count: number;
  readonly canvas: HTMLCanvasElement;
  #index = 0;
  #listeners = new Set<(index: number) => void>();
  #render: SlideRenderer;
  #dispose: () => void;
  #generation = 0;
  #rendered: Promise<void> = Promise.resolve();
  #lastError: Error | undefined;

  private constructor(count: number, render: SlideRenderer, dispose: () => void, width = 1920, height = 1080) {
    this.count = count;
    this.#render = render;
    this.#dispose = dispose;
    this.canvas = document.createElement('canvas');
    this.canvas.width = width;
    this.canvas.height = height;
  }

  /** Opens a PDF; every page is a slide. Throws SlideError with a readable message. */
  static async fromPdf(file: Blob, size?: { width: number; height: number }): Promise<SlideDeck> {
    const data = new Uint8Array(await file.arrayBuffer());
    let doc: pdfjs.PDFDocumentProxy;
    try {
      doc = await pdfjs.getDocument({ data }).promise;
    } catch (err) {
      const name = (err as { name?: string }).name;
      if (name === 'PasswordException')
        throw new SlideError('This PDF is password-protected. Save a copy without a password and open that.', {
          cause: err,
        });
      throw new SlideError('This file could not be opened as a PDF.', { cause: err });
    }
    if (doc.numPages < 1) throw new SlideError('This PDF has no pages.');
    const render: SlideRenderer = async (i, w, h) => {
      const page = await doc.getPage(i + 1);
      const base = page.getViewport({ scale: 1 });
      const viewport = page.getViewport({ scale: Math.min(w / base.width, h / base.height) });
      const c = document.createElement('canvas');
      c.width = Math.max(1, Math.floor(viewport.width));
      c.height = Math.max(1, Math.floor(viewport.height));
      await page.render({ canvas: c, viewport, background: '#ffffff' }).promise;
      page.cleanup();
      return c;
    };
    const deck = new SlideDeck(doc.numPages, render, () => void doc.destroy(), size?.width, size?.height);
    await deck.#draw();
    if (deck.error) {
      deck.close();
      throw new SlideError('The first page of this PDF could not be drawn.', { cause: deck.error });
    }
    return deck;
  }

  /**
   * Opens images (PNG, JPEG, WebP, GIF, SVG…): one slide each. Files are put in natural name order
   * (slide2 before slide10) when every item is a File, else kept in the given order. Images are decoded
   * when shown, so a long deck does not hold every bitmap in memory.
   */
  static async fromImages(files: Blob[], size?: { width: number; height: number }): Promise<SlideDeck> {
    if (files.length === 0) throw new SlideError('Choose at least one image.');
    const list = files.every((f) => typeof File !== 'undefined' && f instanceof File)
      ? [...(files as File[])].sort((a, b) => NAME_COLLATOR.compare(a.name, b.name))
      : [...files];
    const bad = list.find((f) => f.type !== '' && !f.type.startsWith('image/'));
    if (bad)
      throw new SlideError(`${(bad as File).name ?? 'A file'} is not an image. Choose images (PNG, JPEG…) or one PDF.`);
    const render: SlideRenderer = async (i) => {
      const blob = list[i]!;
      try {
        return await createImageBitmap(blob);
      } catch (err) {
        throw new SlideError(`${(blob as File).name ?? `Image ${i + 1}`} could not be opened as an image.`, {
          cause: err,
        });
      }
    };
    const deck = new SlideDeck(list.length, render, () => {}, size?.width, size?.height);
    await deck.#draw();
    if (deck.error) throw deck.error;
    return deck;
  }

  get index(): number {
    return this.#index;
  }

  /** Why the last slide could not be drawn, if it could not (the canvas then keeps the previous one). */
  get error(): Error | undefined {
    return this.#lastError;
  }

  next(): void {
    this.goTo(this.#index + 1);
  }

  prev(): void {
    this.goTo(this.#index - 1);
  }

  goTo(i: number): void {
    const target = Math.min(this.count - 1, Math.max(0, Math.trunc(i)));
    if (target === this.#index || !Number.isFinite(target)) return;
    this.#index = target;
    for (const cb of this.#listeners) {
      try {
        cb(target);
      } catch (err) {
        console.error('slide change listener failed', err);
      }
    }
    void this.#draw();
  }

  onChange(cb: (index: number) => void): () => void {
    this.#listeners.add(cb);
    return () => this.#listeners.delete(cb);
  }

  /** Changes the render size (the take's quality) and redraws the current slide. */
  setSize(width: number, height: number): Promise<void> {
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
      return this.#draw();
    }
    return this.rendered();
  }

  /** Resolves when the slide at `index` is on the canvas (or failed to draw). */
  rendered(): Promise<void> {
    return this.#rendered;
  }

  close(): void {
    this.#listeners.clear();
    this.#dispose();
  }

  #draw(): Promise<void> {
    const gen = ++this.#generation;
    const i = this.#index;
    const { width, height } = this.canvas;
    this.#rendered = (async () => {
      try {
        const img = await this.#render(i, width, height);
        // A newer navigation started while this one rendered: it will draw; do not flash this one.
        if (gen !== this.#generation) {
          if (typeof ImageBitmap !== 'undefined' && img instanceof ImageBitmap) img.close();
          return;
        }
        const ctx = this.canvas.getContext('2d');
        if (!ctx) return;
        ctx.fillStyle = '#000';
        ctx.fillRect(0, 0, width, height);
        const scale = Math.min(width / img.width, height / img.height);
        const dw = Math.round(img.width * scale);
        const dh = Math.round(img.height * scale);
        ctx.drawImage(img, Math.round((width - dw) / 2), Math.round((height - dh) / 2), dw, dh);
        if (typeof ImageBitmap !== 'undefined' && img instanceof ImageBitmap) img.close();
        this.#lastError = undefined;
      } catch (err) {
        this.#lastError = err instanceof Error ? err : new Error(String(err));
        console.error('slide render failed', { index: i, error: this.#lastError.message });
      }
    })();
    return this.#rendered;
  }
}
