import { useCallback, useEffect, useState } from 'react';
import { api } from '../../persist/api.ts';
import type { Project } from '../types.ts';
import { errorText } from './util.ts';

/** The projects the user belongs to (server mode only; browser mode has none). */
export function useProjects(enabled = true) {
  const [projects, setProjects] = useState<Project[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(enabled);

  const reload = useCallback(async () => {
    if (!enabled) return;
    setLoading(true);
    try {
      const r = await api<{ items: Project[] }>('GET', '/api/projects');
      setProjects(r.items);
      setError(null);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setLoading(false);
    }
  }, [enabled]);

  useEffect(() => void reload(), [reload]);
  return { projects, error, loading, reload, setProjects };
}
