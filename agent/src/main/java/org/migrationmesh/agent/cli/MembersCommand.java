package org.migrationmesh.agent.cli;

import org.migrationmesh.proto.control.AddMemberRequest;
import org.migrationmesh.proto.control.ClusterStatusRequest;
import org.migrationmesh.proto.control.RemoveMemberRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.util.concurrent.Callable;

@Command(name = "members", description = "Lists members; `members add` / `members remove` change the Raft group.",
        subcommands = {MembersCommand.Add.class, MembersCommand.Remove.class})
final class MembersCommand implements Callable<Integer> {
    @ParentCommand
    AgentCtl root;

    @Override
    public Integer call() {
        try (AgentCtl.Connection c = root.connect()) {
            Views.ClusterView view = Views.cluster(c.unary().clusterStatus(ClusterStatusRequest.getDefaultInstance()));
            Rendering.print(root.out(), root.options, view.members(), Views::membersTable);
        }
        return 0;
    }

    @Command(name = "add", description = "Adds an agent to the Raft group (start it first with the full peer list).")
    static final class Add implements Callable<Integer> {
        @ParentCommand
        MembersCommand members;

        @Parameters(index = "0", description = "Agent id.")
        String id;

        @Parameters(index = "1", description = "Its Raft address HOST:PORT.")
        String raftAddress;

        @Parameters(index = "2", arity = "0..1", description = "Its control address HOST:PORT.")
        String controlAddress = "";

        @Override
        public Integer call() {
            AgentCtl root = members.root;
            try (AgentCtl.Connection c = root.connect()) {
                Views.ClusterView view = Views.cluster(c.unary().addMember(AddMemberRequest.newBuilder().setMemberId(id)
                        .setRaftAddress(raftAddress).setControlAddress(controlAddress).build()));
                Rendering.print(root.out(), root.options, view, Views::table);
            }
            return 0;
        }
    }

    @Command(name = "remove", description = "Removes an agent from the member table and the Raft group.")
    static final class Remove implements Callable<Integer> {
        @ParentCommand
        MembersCommand members;

        @Parameters(index = "0", description = "Agent id.")
        String id;

        @Override
        public Integer call() {
            AgentCtl root = members.root;
            try (AgentCtl.Connection c = root.connect()) {
                Views.ClusterView view = Views.cluster(c.unary().removeMember(
                        RemoveMemberRequest.newBuilder().setMemberId(id).build()));
                Rendering.print(root.out(), root.options, view, Views::table);
            }
            return 0;
        }
    }
}
