import type { FastifyInstance } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import { requireUser, requireUserHook } from '../auth/auth.plugin.js';
import {
  addMemberBody,
  member,
  memberList,
  memberParams,
  project,
  projectBody,
  projectList,
  projectParams,
  roleBody,
} from './projects.schemas.js';
import type { ProjectsService } from './projects.service.js';

export async function projectRoutes(root: FastifyInstance, opts: { projects: ProjectsService }) {
  const app = root.withTypeProvider<JsonSchemaToTsProvider>();
  const p = opts.projects;
  const tags = ['projects'];
  app.addHook('preHandler', requireUserHook);

  app.post(
    '/api/projects',
    {
      schema: { tags, summary: 'Create a project (you are its owner)', body: projectBody, response: { 201: project } },
    },
    async (req, reply) => reply.status(201).send(await p.create(requireUser(req).user.id, req.body.name)),
  );
  app.get(
    '/api/projects',
    { schema: { tags, summary: 'Projects you belong to', response: { 200: projectList } } },
    async (req) => ({
      items: await p.list(requireUser(req).user.id),
    }),
  );
  app.get(
    '/api/projects/:id',
    { schema: { tags, summary: 'One project', params: projectParams, response: { 200: project } } },
    async (req) => p.get(req.params.id, requireUser(req).user.id),
  );
  app.patch(
    '/api/projects/:id',
    {
      schema: {
        tags,
        summary: 'Rename (owner or editor)',
        params: projectParams,
        body: projectBody,
        response: { 200: project },
      },
    },
    async (req) => p.rename(req.params.id, requireUser(req).user.id, req.body.name),
  );
  app.delete(
    '/api/projects/:id',
    { schema: { tags, summary: 'Delete with its recordings (owner)', params: projectParams } },
    async (req, reply) => {
      await p.delete(req.params.id, requireUser(req).user.id);
      return reply.status(204).send();
    },
  );
  app.get(
    '/api/projects/:id/members',
    { schema: { tags, summary: 'Members and roles', params: projectParams, response: { 200: memberList } } },
    async (req) => ({
      items: await p.members(req.params.id, requireUser(req).user.id),
    }),
  );
  app.post(
    '/api/projects/:id/members',
    {
      schema: {
        tags,
        summary: 'Add a member by email (owner)',
        params: projectParams,
        body: addMemberBody,
        response: { 201: member },
      },
    },
    async (req, reply) =>
      reply.status(201).send(await p.addMember(req.params.id, requireUser(req).user.id, req.body.email, req.body.role)),
  );
  app.patch(
    '/api/projects/:id/members/:userId',
    { schema: { tags, summary: "Change a member's role (owner)", params: memberParams, body: roleBody } },
    async (req, reply) => {
      await p.setRole(req.params.id, requireUser(req).user.id, req.params.userId, req.body.role);
      return reply.status(204).send();
    },
  );
  app.delete(
    '/api/projects/:id/members/:userId',
    { schema: { tags, summary: 'Remove a member (owner) or leave', params: memberParams } },
    async (req, reply) => {
      await p.removeMember(req.params.id, requireUser(req).user.id, req.params.userId);
      return reply.status(204).send();
    },
  );
}
