import { useCallback, useEffect, useId, useState, type FormEvent } from 'react';
import { api, ApiError } from '../../persist/api.ts';
import { LibraryView } from '../components/LibraryView.tsx';
import { errorText } from '../hooks/util.ts';
import { Link } from '../router.tsx';
import { useSession } from '../session.tsx';
import type { Member, Project, Role } from '../types.ts';

const MEMBER_ERRORS: Record<string, string> = {
  USER_NOT_FOUND: 'No account uses that email. They need to sign up first.',
  ALREADY_MEMBER: 'That person is a member already.',
  LAST_OWNER: 'A project keeps at least one owner.',
};

function Members({ project }: { project: Project }) {
  const { user } = useSession();
  const id = useId();
  const [members, setMembers] = useState<Member[]>([]);
  const [error, setError] = useState<string | null>(null);
  const owner = project.role === 'owner';
  const owners = members.filter((m) => m.role === 'owner').length;
  // The last owner cannot leave or be removed (the server says LAST_OWNER); no button that can only fail.
  const removable = (m: Member) => (owner || m.userId === user.id) && !(m.role === 'owner' && owners <= 1);

  const load = useCallback(async () => {
    try {
      setMembers((await api<{ items: Member[] }>('GET', `/api/projects/${project.id}/members`)).items);
    } catch (err) {
      setError(memberErrorText(err));
    }
  }, [project.id]);
  useEffect(() => void load(), [load]);

  async function add(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const d = new FormData(form);
    try {
      const m = await api<Member>('POST', `/api/projects/${project.id}/members`, {
        email: String(d.get('email') ?? '').trim(),
        role: String(d.get('role')) as Role,
      });
      setMembers((ms) => [...ms, m]);
      form.reset();
      setError(null);
    } catch (err) {
      setError(memberErrorText(err));
    }
  }
  async function remove(m: Member) {
    try {
      await api('DELETE', `/api/projects/${project.id}/members/${encodeURIComponent(m.userId)}`);
      setMembers((ms) => ms.filter((x) => x.userId !== m.userId));
      setError(null);
    } catch (err) {
      setError(memberErrorText(err));
    }
  }

  return (
    <section className="members" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Members</h2>
      <ul>
        {members.map((m) => (
          <li key={m.userId}>
            <span>
              {m.displayName}{' '}
              <span className="muted">
                {m.email} · {m.role}
              </span>
            </span>
            {removable(m) && (
              <button
                type="button"
                className="small"
                onClick={() => void remove(m)}
                aria-label={m.userId === user.id ? 'Leave this project' : `Remove ${m.displayName}`}
              >
                {m.userId === user.id ? 'Leave' : 'Remove'}
              </button>
            )}
          </li>
        ))}
      </ul>
      {error && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
      {owner && (
        <form className="inline-form" onSubmit={add}>
          <div className="field grow">
            <label htmlFor={`${id}-email`}>Member email</label>
            <input id={`${id}-email`} name="email" type="email" required maxLength={320} />
          </div>
          <div className="field">
            <label htmlFor={`${id}-role`}>Role</label>
            <select id={`${id}-role`} name="role" defaultValue="editor">
              <option value="viewer">Viewer</option>
              <option value="editor">Editor</option>
              <option value="owner">Owner</option>
            </select>
          </div>
          <button type="submit">Add member</button>
        </form>
      )}
    </section>
  );
}

/** A member change's failure in plain words (the server's codes that have better ones). */
function memberErrorText(err: unknown): string {
  return err instanceof ApiError ? (MEMBER_ERRORS[err.code] ?? err.message) : errorText(err);
}

export function ProjectPage({ id }: { id: string }) {
  const [project, setProject] = useState<Project | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api<Project>('GET', `/api/projects/${id}`).then(setProject, (err) =>
      setError(
        err instanceof ApiError && err.status === 404
          ? 'This project does not exist, or you are not a member.'
          : errorText(err),
      ),
    );
  }, [id]);

  if (error)
    return (
      <section>
        <h1>Project not found</h1>
        <p role="alert">{error}</p>
        <Link to="/projects">All projects</Link>
      </section>
    );
  if (!project) return <p role="status">Loading…</p>;
  return (
    <>
      <p className="crumbs">
        <Link to="/projects">Projects</Link>
      </p>
      <div className="page-head">
        <h1>{project.name}</h1>
        <Link to="/record" className="button primary">
          New recording
        </Link>
      </div>
      <div className="project-layout">
        <LibraryView projectId={project.id} />
        <Members project={project} />
      </div>
    </>
  );
}
