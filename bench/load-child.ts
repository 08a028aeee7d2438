import { fork } from 'node:child_process';

// A bench's load generator in a process of its own, so that the server's event loop is not
// shared with the client's: the bench forks its own file with a flag, sends the spec over IPC,
// and gets the result back.

/** In the child: when started with `flag`, runs `work` on the spec the parent sends and answers its result. */
export function serveLoadChild<Spec, Result>(flag: string, work: (spec: Spec) => Promise<Result>): void {
  if (!process.argv.includes(flag)) return;
  process.once('message', (spec: Spec) => {
    work(spec).then(
      (result) => process.send?.(result, () => process.exit(0)),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}

/** In the parent: forks `file` with `flag`, sends `spec`, resolves with the child's result. */
export function forkLoadChild<Spec, Result>(
  file: string,
  flag: string,
  spec: Spec,
  execArgv: string[],
): Promise<Result> {
  const child = fork(file, [flag], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (result: Result) => resolve(result));
    child.once('close', (code) => reject(new Error(`the load generator exited (code ${code}) without a result`)));
    child.once('error', reject);
    child.send(spec as object);
  });
}
