/**
 * Loads every *.yaml / *.yml under a folder (multi-document files too), validates them and returns the
 * objects by kind, or throws a ManifestError listing every problem with its file, object and field.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ManifestError, type ManifestProblem, type Manifests } from './types.ts';
import { validateObjects, type SourcedObject } from './validate.ts';

export interface ManifestFile {
  /** As it should appear in messages, e.g. manifests/local/users.yaml. */
  file: string;
  text: string;
}

/** Parses and validates manifest texts; the pure core of loadManifests. */
export function parseManifests(dir: string, files: readonly ManifestFile[]): Manifests {
  const problems: ManifestProblem[] = [];
  const objects: SourcedObject[] = [];
  for (const { file, text } of files) {
    const docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
    const list = Array.isArray(docs) ? docs : [docs];
    let index = 0;
    for (const doc of list) {
      index++;
      if (doc.errors.length) {
        for (const e of doc.errors) {
          const pos = e.linePos?.[0];
          problems.push({ file: pos ? `${file}:${pos.line}:${pos.col}` : file, object: `document ${index}`, path: '', message: `YAML: ${(e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}` });
        }
        continue;
      }
      const value: unknown = doc.toJS({ maxAliasCount: 100 });
      if (value === null || value === undefined) continue; // an empty document (a trailing ---, comments only)
      objects.push({ file, index, value });
    }
  }
  const result = validateObjects(objects);
  problems.push(...result.problems);
  if (problems.length) throw new ManifestError(problems);
  if (result.deployments.length === 0) {
    throw new ManifestError([{ file: dir, object: '', path: '', message: 'no Deployments found (expected *.yaml files with kind: Deployment and kind: Service)' }]);
  }
  const { problems: _reported, ...loaded } = result;
  return { dir, ...loaded };
}

/** Every *.yaml / *.yml directly under dir and its subfolders, sorted so messages come in a stable order. */
async function listYaml(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && /\.ya?ml$/i.test(e.name))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

export async function loadManifests(dir: string): Promise<Manifests> {
  const abs = path.resolve(dir);
  let files: string[];
  try {
    files = await listYaml(abs);
  } catch (err) {
    throw new ManifestError([{ file: dir, object: '', path: '', message: `cannot read the manifests folder: ${(err as Error).message}` }]);
  }
  const shown = (f: string) => {
    const rel = path.relative(process.cwd(), f);
    return rel.startsWith('..') ? f : rel;
  };
  const texts = await Promise.all(files.map(async (f) => ({ file: shown(f), text: await readFile(f, 'utf8') })));
  return parseManifests(abs, texts);
}
