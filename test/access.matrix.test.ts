/**
 * The access matrix (src/server/access/access.ts) on its own: each action allows exactly the relations
 * the product rules name, refusals are 404 without a relation and 403 with one, moves need both ends,
 * and docs/security.md shows the same table. The same rules over HTTP: access.test.ts.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type Action,
  authorize,
  authorizeMove,
  can,
  type Relation,
  RULES,
  recordingRights,
  relationsOf,
} from '../src/server/access/access.js';
import { AppError } from '../src/server/errors.js';

describe('the access matrix', () => {
  const RELATIONS: Relation[] = ['creator', 'owner', 'editor', 'viewer'];
  /** The product rules, written out once more: who may do each action. */
  const ALLOWED: Record<Action, string> = {
    'recording.read': 'creator owner editor viewer',
    'recording.media': 'creator owner editor viewer',
    'recording.edit': 'creator owner editor',
    'recording.retry': 'creator owner editor',
    'recording.delete': 'creator owner',
    'recording.moveOut': 'creator owner',
    'share.manage': 'creator owner editor',
    'comment.create': 'creator owner editor viewer',
    'comment.resolve': 'creator owner editor',
    // on a comment: its author (a relation of its own: comments.test.ts), and moderators delete
    'comment.editOwn': '',
    'comment.deleteOwn': 'creator owner editor',
    'edit.create': 'creator owner editor',
    'version.create': 'creator owner editor',
    'project.read': 'owner editor viewer',
    'project.leave': 'owner editor viewer',
    'project.rename': 'owner editor',
    'project.addRecordings': 'owner editor',
    'project.manageMembers': 'owner',
    'project.delete': 'owner',
    'upload.act': 'creator',
    'session.act': 'creator',
    // and the administrator (adminRelations): the analytics drill-down (analytics.test.ts)
    'session.inspect': 'creator',
    'import.act': 'creator',
    // none of these relations: only the instance's administrator (adminRelations; storage-migrate.test.ts)
    'instance.admin': '',
    // none of these relations: only a share link's visitor (link-* relations; shares.test.ts)
    'share.view': '',
    'share.comment': '',
    'share.download': '',
  };
  const actions = Object.keys(RULES) as Action[];
  const refusal = (action: Action, relations: Relation[]) => {
    try {
      authorize(action, relations);
      return 'allowed';
    } catch (err) {
      return err instanceof AppError ? `${err.status} ${err.code}` : String(err);
    }
  };

  it('allows each action to exactly the relations the product rules name', () => {
    expect([...actions].sort()).toEqual(Object.keys(ALLOWED).sort());
    for (const action of actions)
      for (const relation of RELATIONS)
        expect(can(action, [relation]), `${action} by ${relation}`).toBe(ALLOWED[action].split(' ').includes(relation));
  });

  it('answers no relation with the resource’s 404 and a relation the rule does not name with 403', () => {
    const notFound = { recording: 'RECORDING_NOT_FOUND', project: 'PROJECT_NOT_FOUND' } as Record<string, string>;
    notFound.upload = 'UPLOAD_NOT_FOUND';
    notFound.session = 'SESSION_NOT_FOUND';
    notFound.import = 'IMPORT_NOT_FOUND';
    notFound.instance = 'ROUTE_NOT_FOUND';
    notFound.share = 'SHARE_NOT_FOUND';
    notFound.comment = 'COMMENT_NOT_FOUND';
    for (const action of actions) {
      expect(refusal(action, [])).toBe(`404 ${notFound[RULES[action].on]}`);
      for (const relation of RELATIONS.filter((r) => !can(action, [r])))
        expect(refusal(action, [relation]), `${action} by ${relation}`).toMatch(/^(403 FORBIDDEN|404 )/);
    }
    expect(refusal('project.delete', ['editor'])).toBe('403 FORBIDDEN');
    expect(refusal('recording.delete', ['editor'])).toBe('403 FORBIDDEN');
  });

  it('lets every relation to a recording or project read it (so 404 means exactly "cannot see it")', () => {
    for (const action of actions) {
      const read = RULES[action].on === 'project' ? 'project.read' : 'recording.read';
      if (['upload', 'session', 'import'].includes(RULES[action].on)) continue;
      if (RULES[action].on === 'instance') continue;
      if (RULES[action].on === 'share') continue; // a link's visitor reads through the link (share.view)
      if (RULES[action].on === 'comment') continue; // 'author' comes with a relation to the recording
      for (const relation of RULES[action].allow) expect(can(read, [relation]), `${action}: ${relation}`).toBe(true);
    }
  });

  it('counts every relation a user holds: a creator who only views the project still deletes their recording', () => {
    expect(relationsOf('u1', { creatorId: 'u1', role: 'viewer' })).toEqual(['creator', 'viewer']);
    expect(relationsOf('u1', { creatorId: 'u2', role: null })).toEqual([]);
    expect(recordingRights(relationsOf('u1', { creatorId: 'u1', role: 'viewer' }))).toEqual({
      canEdit: true,
      canDelete: true,
      canShare: true,
      canResolveComments: true,
    });
    expect(recordingRights(['editor'])).toEqual({
      canEdit: true,
      canDelete: false,
      canShare: true,
      canResolveComments: true,
    });
    expect(recordingRights(['viewer'])).toEqual({
      canEdit: false,
      canDelete: false,
      canShare: false,
      canResolveComments: false,
    });
  });

  it('moves only with delete rights in the source and add rights in the target, the source first', () => {
    const move = (source: Relation[], target: Relation[] | null) => {
      try {
        authorizeMove(source, target);
        return 'allowed';
      } catch (err) {
        return `${(err as AppError).status} ${(err as AppError).code}`;
      }
    };
    expect(move(['editor'], ['owner'])).toBe('403 FORBIDDEN');
    expect(move(['editor'], [])).toBe('403 FORBIDDEN'); // says nothing about the target
    expect(move(['creator', 'editor'], ['editor'])).toBe('allowed');
    expect(move(['owner'], null)).toBe('allowed');
    expect(move(['creator'], ['viewer'])).toBe('403 FORBIDDEN');
    expect(move(['creator'], [])).toBe('404 PROJECT_NOT_FOUND');
  });

  it('is the table docs/security.md shows', () => {
    const doc = fs.readFileSync(new URL('../docs/security.md', import.meta.url), 'utf8');
    const rows = doc.split('\n').filter((line) => /^\| `[a-zA-Z.]+` +\|/.test(line));
    const documented = rows.map((line) => {
      const cells = line.split('|').map((cell) => cell.trim());
      const action = cells[1]!.replaceAll('`', '') as Action;
      const allowed = RELATIONS.filter((_, i) => cells[2 + i] === '✓').join(' ');
      return [action, allowed, cells.slice(6, 9).join(' ')];
    });
    // a share link's rules: without the link, whoever asks learns nothing (404 SHARE_NOT_FOUND, signed in or not)
    const refusedTail = (action: Action) => (RULES[action].on === 'share' ? '404 404 404' : '404 404 401');
    expect(documented).toEqual(actions.map((action) => [action, ALLOWED[action], refusedTail(action)]));
  });
});
