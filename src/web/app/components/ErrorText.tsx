/** A failed action's message, announced to screen readers (role="alert"); nothing while there is none. */
export function ErrorText({ error, className = 'error-text' }: { error: string | null; className?: string }) {
  if (!error) return null;
  return (
    <p className={className} role="alert">
      {error}
    </p>
  );
}
