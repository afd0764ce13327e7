// The error a command line's bad input raises: main prints its message and exits 2. In a module of
// its own so that main can catch it without loading any command.
export class CliInputError extends Error {
  override readonly name = 'CliInputError';
}
