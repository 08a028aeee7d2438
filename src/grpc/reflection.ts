import { createRegistry, type DescFile, type Registry, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { Code, type ServiceImpl } from '@connectrpc/connect';
import { ServerReflection, type ServerReflectionRequest } from './gen/grpc/reflection/v1/reflection_pb.js';
import type { ServerReflectionRequest as AlphaRequest } from './gen/grpc/reflection/v1alpha/reflection_pb.js';
import { ServerReflection as ServerReflectionAlpha } from './gen/grpc/reflection/v1alpha/reflection_pb.js';

// gRPC server reflection (grpc.reflection.v1, and v1alpha, which older tools still ask for): the
// services this server offers and the descriptors of their files, so that `buf curl`, grpcurl and
// the like can list, describe and call them without the .proto files. The two versions have the
// same messages under two package names; one function answers both.

/** The services a server reflects and the files that declare them (their imports follow). */
export interface Reflected {
  readonly services: readonly string[];
  /** Every type of the files, by its full name. */
  readonly registry: Registry;
  /** The files and their imports, by name. */
  readonly files: ReadonlyMap<string, DescFile>;
}

export function reflected(services: readonly { typeName: string; file: DescFile }[]): Reflected {
  const seen = new Set<string>();
  const files = services.flatMap((service) => withImports(service.file, seen));
  return {
    services: services.map((service) => service.typeName),
    registry: createRegistry(...files),
    files: new Map(files.map((file) => [file.name, file])),
  };
}

/** A file and every file it imports, each once, imports first: what a client needs to use it. */
function withImports(file: DescFile, seen = new Set<string>()): DescFile[] {
  if (seen.has(file.name)) return [];
  seen.add(file.name);
  return [...file.dependencies.flatMap((dependency) => withImports(dependency, seen)), file];
}

function fileOfSymbol(registry: Registry, symbol: string): DescFile | undefined {
  const found = registry.get(symbol);
  if (found !== undefined) return found.file;
  // A method or a field: its service or message is the symbol without its last part.
  const parent = symbol.slice(0, Math.max(0, symbol.lastIndexOf('.')));
  const owner = parent === '' ? undefined : registry.get(parent);
  return owner?.file;
}

type Request = ServerReflectionRequest | AlphaRequest;

function answer(reflection: Reflected, request: Request) {
  const { registry, files: byName } = reflection;
  const files = (file: DescFile | undefined, what: string) =>
    file === undefined
      ? { case: 'errorResponse' as const, value: { errorCode: Code.NotFound, errorMessage: `${what} not found` } }
      : {
          case: 'fileDescriptorResponse' as const,
          value: { fileDescriptorProto: withImports(file).map((f) => toBinary(FileDescriptorProtoSchema, f.proto)) },
        };
  const { messageRequest } = request;
  switch (messageRequest.case) {
    case 'listServices':
      return {
        case: 'listServicesResponse' as const,
        value: { service: reflection.services.map((name) => ({ name })) },
      };
    case 'fileByFilename':
      return files(byName.get(messageRequest.value), `file ${messageRequest.value}`);
    case 'fileContainingSymbol':
      return files(fileOfSymbol(registry, messageRequest.value), `symbol ${messageRequest.value}`);
    default:
      // The contract declares no extensions.
      return {
        case: 'errorResponse' as const,
        value: { errorCode: Code.NotFound, errorMessage: 'this server declares no extensions' },
      };
  }
}

/** The answers to a stream of requests; their messages are the same in both versions. */
async function* reflect(reflection: Reflected, requests: AsyncIterable<Request>): AsyncGenerator<never> {
  for await (const request of requests) {
    const response = {
      validHost: request.host,
      originalRequest: request,
      messageResponse: answer(reflection, request),
    };
    yield response as never;
  }
}

export function reflectionServices(reflection: Reflected) {
  const v1: ServiceImpl<typeof ServerReflection> = {
    serverReflectionInfo: (requests) => reflect(reflection, requests),
  };
  const v1alpha: ServiceImpl<typeof ServerReflectionAlpha> = {
    serverReflectionInfo: (requests) => reflect(reflection, requests),
  };
  return { v1, v1alpha };
}

export { ServerReflection, ServerReflectionAlpha };
