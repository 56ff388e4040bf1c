// Evidence upload with progress: a GraphQL multipart request (the spec
// Amparo's server streams) sent with XMLHttpRequest, the one browser API
// that reports upload progress.
import { print } from 'graphql';
import { UploadEvidenceDocument, type UploadEvidenceMutation } from '../gql/graphql';
import { sortErrors, type Problems } from '../ui/errors';

export type UploadResult = { ok: true; evidence: UploadEvidenceMutation['uploadEvidence']['evidence'] } | { ok: false; problems: Problems };

export function uploadEvidence(
  args: { caseId: string; file: File; description?: string | undefined },
  headers: Record<string, string>,
  onProgress: (fraction: number) => void,
): { done: Promise<UploadResult>; abort: () => void } {
  const xhr = new XMLHttpRequest();
  const body = new FormData();
  body.append('operations', JSON.stringify({
    query: print(UploadEvidenceDocument),
    variables: { input: { caseId: args.caseId, file: null, description: args.description || null } },
  }));
  body.append('map', JSON.stringify({ 0: ['variables.input.file'] }));
  body.append('0', args.file, args.file.name);
  const done = new Promise<UploadResult>((resolve) => {
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    const failed = () => resolve({ ok: false, problems: { fields: {}, general: [], codes: [], network: true } });
    xhr.onerror = failed;
    xhr.onabort = failed;
    xhr.onload = () => {
      try {
        const res = JSON.parse(xhr.responseText) as { data?: UploadEvidenceMutation | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };
        if (res.errors?.length) resolve({ ok: false, problems: sortErrors(res.errors) });
        else if (res.data) resolve({ ok: true, evidence: res.data.uploadEvidence.evidence });
        else failed();
      } catch {
        failed();
      }
    };
  });
  xhr.open('POST', '/graphql');
  for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
  xhr.send(body);
  return { done, abort: () => xhr.abort() };
}
