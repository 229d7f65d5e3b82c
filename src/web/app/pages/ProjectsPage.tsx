import { useId, useState, type FormEvent } from 'react';
import { api } from '../../persist/api.ts';
import { ConfirmDialog } from '../components/ConfirmDialog.tsx';
import { ErrorText } from '../components/ErrorText.tsx';
import { useProjects } from '../hooks/useProjects.ts';
import { errorText } from '../hooks/util.ts';
import { Link } from '../router.tsx';
import { useSession } from '../session.tsx';
import type { Project } from '../types.ts';

function ProjectRow({
  p,
  onRenamed,
  onDelete,
}: {
  p: Project;
  onRenamed(p: Project): void;
  onDelete(p: Project): void;
}) {
  const id = useId();
  const [editing, setEditing] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const canRename = p.role !== 'viewer';
  async function rename(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const name = String(new FormData(e.currentTarget).get('name') ?? '').trim();
    if (!name) return;
    try {
      onRenamed(await api<Project>('PATCH', `/api/projects/${p.id}`, { name }));
      setEditing(false);
      setError(null);
    } catch (err) {
      setError(errorText(err));
    }
  }
  return (
    <li className="project-row">
      {editing ? (
        <form onSubmit={rename} className="inline-form">
          <label htmlFor={`${id}-n`} className="sr-only">
            Project name
          </label>
          {/* biome-ignore lint/a11y/noAutofocus: opened by "Rename" to type a name */}
          <input id={`${id}-n`} name="name" defaultValue={p.name} maxLength={200} required autoFocus />
          <button type="submit" className="small primary">
            Save
          </button>
          <button type="button" className="small" onClick={() => setEditing(false)}>
            Cancel
          </button>
        </form>
      ) : (
        <div>
          <Link to={`/projects/${p.id}`} className="project-name">
            {p.name}
          </Link>
          <span className="muted">
            {' '}
            · {p.recordingCount ?? 0} recording{p.recordingCount === 1 ? '' : 's'} · {p.role}
          </span>
        </div>
      )}
      {!editing && (
        <div className="actions">
          {canRename && (
            <button type="button" className="small" onClick={() => setEditing(true)} aria-label={`Rename ${p.name}`}>
              Rename
            </button>
          )}
          {p.role === 'owner' && (
            <button
              type="button"
              className="small danger-outline"
              onClick={() => onDelete(p)}
              aria-label={`Delete ${p.name}`}
            >
              Delete
            </button>
          )}
        </div>
      )}
      <ErrorText error={error} />
    </li>
  );
}

export function ProjectsPage() {
  const { storage } = useSession();
  const id = useId();
  const { projects, error, loading, setProjects } = useProjects(storage === 'server');
  const [createError, setCreateError] = useState<string | null>(null);
  const [toDelete, setToDelete] = useState<Project | null>(null);

  if (storage === 'browser') {
    return (
      <section>
        <h1>Projects</h1>
        <p>Projects group recordings on the server. Recordings kept in this browser only are not in projects.</p>
      </section>
    );
  }

  async function create(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const name = String(new FormData(form).get('name') ?? '').trim();
    if (!name) return;
    try {
      const p = await api<Project>('POST', '/api/projects', { name });
      setProjects((ps) => [p, ...ps]);
      form.reset();
      setCreateError(null);
    } catch (err) {
      setCreateError(errorText(err));
    }
  }

  return (
    <section>
      <h1>Projects</h1>
      <form className="inline-form create-project" onSubmit={create}>
        <div className="field grow">
          <label htmlFor={`${id}-new`}>New project name</label>
          <input id={`${id}-new`} name="name" maxLength={200} required />
        </div>
        <button type="submit" className="primary">
          Create project
        </button>
      </form>
      <ErrorText error={createError} />
      {error && (
        <p className="notice error" role="alert">
          The projects could not be loaded: {error}
        </p>
      )}
      {loading && projects.length === 0 && <p role="status">Loading…</p>}
      {!loading && projects.length === 0 && !error && (
        <p className="empty">No projects yet. Create one to group recordings and share them with others.</p>
      )}
      <ul className="project-list">
        {projects.map((p) => (
          <ProjectRow
            key={p.id}
            p={p}
            onRenamed={(n) => setProjects((ps) => ps.map((x) => (x.id === n.id ? { ...x, ...n } : x)))}
            onDelete={setToDelete}
          />
        ))}
      </ul>
      <ConfirmDialog
        open={toDelete !== null}
        title="Delete this project?"
        confirmLabel="Yes, remove it"
        danger
        onCancel={() => setToDelete(null)}
        onConfirm={async () => {
          if (!toDelete) return;
          await api('DELETE', `/api/projects/${toDelete.id}`);
          setProjects((ps) => ps.filter((x) => x.id !== toDelete.id));
          setToDelete(null);
        }}
      >
        <p>
          “{toDelete?.name}” will be deleted together with its {toDelete?.recordingCount ?? 0} recording
          {toDelete?.recordingCount === 1 ? '' : 's'}. This cannot be undone.
        </p>
      </ConfirmDialog>
    </section>
  );
}
