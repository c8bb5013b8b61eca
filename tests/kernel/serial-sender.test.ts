import { SerialSender } from '../../dist/kernel/host/serial-sender';

describe('SerialSender', () => {
  it('never overlaps two sends on one socket and keeps their order (zeromq v6 refuses concurrent sends)', async () => {
    let busy = false;
    const sent: string[] = [];
    const socket = {
      async send(frames: Buffer[]) {
        if (busy) throw new Error('Socket is busy writing; only one send operation may be in progress at any time');
        busy = true;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
        sent.push(frames[0]!.toString());
        busy = false;
      },
    };
    const errors: unknown[] = [];
    const sender = new SerialSender(socket, (error) => errors.push(error));
    const expected = Array.from({ length: 50 }, (_, index) => `m${index}`);
    for (const text of expected) sender.send([Buffer.from(text)]);
    await sender.drain();
    expect(errors).toEqual([]);
    expect(sent).toEqual(expected);
  });

  it('reports a failed send and goes on with the next', async () => {
    const sent: string[] = [];
    const errors: string[] = [];
    const sender = new SerialSender(
      {
        async send(frames: Buffer[]) {
          if (frames[0]!.toString() === 'bad') throw new Error('no route');
          sent.push(frames[0]!.toString());
        },
      },
      (error) => errors.push((error as Error).message),
    );
    for (const text of ['a', 'bad', 'b']) sender.send([Buffer.from(text)]);
    await sender.drain();
    expect(sent).toEqual(['a', 'b']);
    expect(errors).toEqual(['no route']);
  });
});
