import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { STACK_OUTPUTS, StackOutputKey } from '../../contracts/stack-outputs';

export type StackOutputs = Partial<Record<StackOutputKey, string>>;

/** The deployed stack's outputs by their contract keys, so commands need no names typed in. */
export async function readStackOutputs(client: CloudFormationClient, stackName: string): Promise<StackOutputs> {
  let stack;
  try {
    stack = (await client.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0];
  } catch (error) {
    throw new Error(`Could not read stack "${stackName}" (deployed with \`npx cdk deploy\`? pass --stack or the names): ${(error as Error).message}`, { cause: error });
  }
  if (!stack) throw new Error(`Stack "${stackName}" was not found.`);
  const byOutputKey = new Map((stack.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue]));
  return Object.fromEntries(Object.entries(STACK_OUTPUTS).map(([key, outputKey]) => [key, byOutputKey.get(outputKey)]).filter(([, v]) => v !== undefined)) as StackOutputs;
}
